"""The count of a customer's open activations (``OpenActivations``), kept by PostgreSQL
triggers on every write of an activation, and the concurrency limit that reads it."""

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rentals.errors import ChannelsLimit
from rentals.models import Activation, OpenActivations
from rentals.services import (
    activation_cancel,
    activation_finish,
    activation_purchase,
    activations_expire_due,
    spend_policy_set,
)
from tests.rentals.conftest import age, fund, sms_arrives

State = Activation.State


def counted(user) -> int:
    row = OpenActivations.objects.filter(user=user).first()
    return row.open_count if row else 0


def really_open(user) -> int:
    return Activation.objects.filter(user=user, state__in=Activation.OPEN_STATES).count()


@pytest.mark.django_db
def test_every_kind_of_write_keeps_the_count(customer, simulator, telegram, usa):
    fund(customer, "10.00")
    bought = [activation_purchase(user=customer, service=telegram, country=usa) for _ in range(4)]
    assert counted(customer) == really_open(customer) == 4  # step 1 inserts, step 3 keeps
    activation_cancel(activation=age(bought[0], 3600))
    assert counted(customer) == really_open(customer) == 3
    activation_finish(activation=sms_arrives(bought[1]))
    assert counted(customer) == really_open(customer) == 2
    for activation in bought[2:]:
        age(activation, 3600)
    assert activations_expire_due() == 2  # the sweep's plain SQL
    assert counted(customer) == really_open(customer) == 0
    Activation.objects.filter(pk=bought[0].pk).update(state=State.WAITING)  # bypasses save()
    assert counted(customer) == really_open(customer) == 1
    Activation.objects.filter(pk=bought[0].pk).delete()
    assert counted(customer) == really_open(customer) == 0


@pytest.mark.django_db
def test_only_a_write_that_opens_or_closes_changes_the_count(customer, simulator, telegram, usa):
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    OpenActivations.objects.filter(user=customer).update(open_count=7)  # marked
    for state in (State.RECEIVED, State.RESEND):  # still open
        Activation.objects.filter(pk=activation.pk).update(state=state, memo=state)
    Activation.objects.filter(pk=activation.pk).update(price=Decimal("0.10"))
    assert counted(customer) == 7
    Activation.objects.filter(pk=activation.pk).update(state=State.COMPLETED)
    assert counted(customer) == 6


@pytest.mark.django_db
def test_the_concurrency_limit_reads_the_count_not_the_activations(
    customer, simulator, telegram, usa
):
    spend_policy_set(user=customer, max_concurrent=2)
    activation_purchase(user=customer, service=telegram, country=usa)
    OpenActivations.objects.filter(user=customer).update(open_count=2)  # one row says two
    with CaptureQueriesContext(connection) as queries, pytest.raises(ChannelsLimit) as refused:
        activation_purchase(user=customer, service=telegram, country=usa)
    assert refused.value.extra == {"limit": 2}
    counting = [q["sql"] for q in queries.captured_queries if "count(" in q["sql"]]
    assert counting == [], counting
    assert really_open(customer) == 1  # refused: nothing recorded, nothing charged


@pytest.mark.django_db(transaction=True)
def test_purchases_at_once_against_a_limit_of_three_record_three(
    customer, simulator, telegram, usa
):
    spend_policy_set(user=customer, max_concurrent=3)
    outcomes = _at_once(
        8, lambda n: activation_purchase(user=customer, service=telegram, country=usa)
    )
    assert sorted(outcomes) == ["ChannelsLimit"] * 5 + ["ok"] * 3
    assert counted(customer) == really_open(customer) == 3


@pytest.mark.django_db(transaction=True)
def test_purchases_cancels_and_sweeps_of_one_customer_at_once_agree_and_never_deadlock(
    customer, simulator, telegram, usa
):
    """Every writer takes the customer's count row before the wallet (a purchase locks it in
    step 1, a cancel and the sweep write the state before they refund, two sweeps lock the rows
    in customer order): run together, none of them waits for another in a circle."""
    fund(customer, "40.00")
    old = [activation_purchase(user=customer, service=telegram, country=usa) for _ in range(12)]
    for activation in old[:8]:
        age(activation, 3600)  # due for the sweep, and old enough to cancel

    def work(n: int):
        if n < 6:
            return activation_purchase(user=customer, service=telegram, country=usa)
        if n < 10:  # those the sweeps may expire first
            return activation_cancel(activation=old[n - 6])
        return activations_expire_due(batch_size=2)

    outcomes = _at_once(12, work)
    assert outcomes.count("ok") >= 8 and set(outcomes) <= {"ok", "BadStatus"}, outcomes
    assert counted(customer) == really_open(customer)
    call_command("check_ledger")


def _at_once(count: int, work) -> list[str]:
    outcomes, barrier, lock = [], threading.Barrier(count), threading.Lock()

    def run(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(n)
            result = "ok"
        except Exception as exc:  # the outcome is what the test compares
            result = type(exc).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes
