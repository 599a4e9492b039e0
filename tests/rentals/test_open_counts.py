"""``check_open_counts``: each customer's count of open activations (kept by triggers, read by
the purchase's concurrency limit) against their activations, and its repair."""

import io
import threading

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rentals.errors import ChannelsLimit
from rentals.models import Activation, OpenActivations
from rentals.selectors import OpenCountDifference, open_counts_differing
from rentals.services import activation_purchase
from rentals.services.policy import open_count_repair, spend_policy_set
from tests.database import dsn
from tests.factories import UserFactory
from tests.rentals.conftest import fund

State = Activation.State


def buy(customer, telegram, usa, count: int) -> list[Activation]:
    return [activation_purchase(user=customer, service=telegram, country=usa) for _ in range(count)]


def kept(user) -> int | None:
    row = OpenActivations.objects.filter(user=user).first()
    return None if row is None else row.open_count


def check(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("check_open_counts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_counts_kept_by_the_triggers_pass_the_check(customer, simulator, telegram, usa):
    first, _ = buy(customer, telegram, usa, 2)
    Activation.objects.filter(pk=first.pk).update(state=State.COMPLETED)  # closed by plain SQL
    assert kept(customer) == 1
    assert open_counts_differing() == []
    out, err = check()
    assert "open counts ok" in out and err == ""


@pytest.mark.django_db
def test_a_wrong_count_is_named_and_left_as_it_is_without_repair(
    customer, simulator, telegram, usa
):
    buy(customer, telegram, usa, 2)
    OpenActivations.objects.filter(user=customer).update(open_count=5)
    assert open_counts_differing() == [OpenCountDifference(customer.pk, 5, 2)]
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("check_open_counts", stdout=io.StringIO(), stderr=err)
    assert refused.value.returncode == 1
    assert f"customer {customer.pk}: count 5 != 2 open activation(s)" in err.getvalue()
    assert kept(customer) == 5


@pytest.mark.django_db
def test_repair_sets_wrong_missing_and_stray_counts_right(customer, simulator, telegram, usa):
    other, stray = UserFactory(), UserFactory()
    fund(other, "10.00")
    buy(customer, telegram, usa, 2)
    buy(other, telegram, usa, 1)
    OpenActivations.objects.filter(user=customer).update(open_count=5)  # too many
    OpenActivations.objects.filter(user=other).delete()  # none kept
    OpenActivations.objects.create(user=stray, open_count=3)  # no activation at all
    assert len(open_counts_differing()) == 3

    out, _ = check("--repair")

    assert (kept(customer), kept(other), kept(stray)) == (2, 1, 0)
    assert "repaired: 3 customer(s)" in out and f"customer {other.pk}: set to 1" in out
    assert open_counts_differing() == []
    # the limit reads the repaired count: one more of three, then refused
    spend_policy_set(user=customer, max_concurrent=3)
    buy(customer, telegram, usa, 1)
    with pytest.raises(ChannelsLimit):
        buy(customer, telegram, usa, 1)


@pytest.mark.django_db
def test_repair_of_a_right_count_writes_nothing(customer, simulator, telegram, usa):
    buy(customer, telegram, usa, 1)
    assert open_count_repair(user_id=customer.pk) is None
    assert kept(customer) == 1


@pytest.mark.django_db(transaction=True)
def test_repair_counts_after_a_cancel_in_flight_commits(customer, simulator, telegram, usa):
    """A cancel has closed an activation but not committed (its trigger holds the count row):
    the repair waits for it and counts what it committed, so that the count stays exact."""
    first, _ = buy(customer, telegram, usa, 2)
    OpenActivations.objects.filter(user=customer).update(open_count=7)
    with psycopg.connect(dsn()) as other:
        other.execute("UPDATE rentals_activation SET state = 'cancelled' WHERE id = %s", [first.pk])
        committing = threading.Timer(0.5, other.commit)
        committing.start()
        try:
            written = open_count_repair(user_id=customer.pk)
        finally:
            committing.join()
    assert written == 1
    assert kept(customer) == 1
    assert open_counts_differing() == []
