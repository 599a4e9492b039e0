"""A purchase process killed (SIGKILL) between the upstream's sale and recording the number: the
money and the upstream both settle. The saga runs in a forked child process against the real
PostgreSQL and a fake SMS-Activate upstream over HTTP; the test kills it at the worst moment."""

import multiprocessing
import os
import signal

import pytest
from django.db import connections

from providers.models import Country, PurchaseAttempt, Service
from rentals.models import Activation
from rentals.services import activations_expire_due, activations_reconcile
from rentals.services.upstream_audit import upstream_audit
from tests.rentals.orphan_support import (
    assert_money_settled,
    later,
    leaked,
    sms_activate_provider,
)
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db(transaction=True)
State = Activation.State


def _saga(user_id: int, notify, *, stop_before_recording: bool) -> None:
    """The child: buy a number (the whole saga). With ``stop_before_recording``, it tells the
    parent once the upstream's answer is in hand, and waits there to be killed."""
    from rentals.services import activation_purchase
    from rentals.services import activations as saga
    from smsbox.models import User

    if stop_before_recording:

        def wait_to_be_killed(activation, routed):
            notify.send(routed.upstream_id)
            signal.pause()

        saga._deliver = wait_to_be_killed
    activation_purchase(
        user=User.objects.get(pk=user_id),
        service=Service.objects.get(code="tg"),
        country=Country.objects.get(sms_activate_id=187),
    )


def _start(customer, *, stop_before_recording: bool):
    ours, theirs = multiprocessing.Pipe()
    connections.close_all()  # the child must not share our database connection
    child = multiprocessing.get_context("fork").Process(
        target=_saga,
        args=(customer.pk, theirs),
        kwargs={"stop_before_recording": stop_before_recording},
        daemon=True,
    )
    child.start()
    return child, ours


def _kill(child) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL


@pytest.fixture
def upstream(fake_sms_activate, catalog):
    return sms_activate_provider(fake_sms_activate, timeout="20")


def test_killed_while_the_upstream_answer_is_on_its_way(
    customer, upstream, fake_sms_activate, eager_celery
):
    # given: the upstream sells, then holds its answer
    fake_sms_activate.after_sale, fake_sms_activate.stall_seconds = "stall", 15.0
    child, _ = _start(customer, stop_before_recording=False)
    assert fake_sms_activate.sold.wait(timeout=20)
    # when: the purchase process dies with the sale made upstream
    _kill(child)
    fake_sms_activate.after_sale = ""
    activation = Activation.objects.get()
    assert activation.state == State.PROCESSING and not activation.phone
    [sold] = fake_sms_activate.open_orders()
    assert not PurchaseAttempt.objects.exists()  # nothing says which provider it asked
    # then: once stale, reconciliation asks the providers offering the service and country,
    # finds the sale and gives the customer the number bought for them
    assert activations_reconcile(now=later(301)) == 1
    activation.refresh_from_db()
    assert (activation.state, activation.upstream_id) == (State.WAITING, sold)
    assert leaked(fake_sms_activate, upstream) == set()
    # and unused, it expires: refunded here, cancelled upstream
    assert activations_expire_due(now=later(1201)) == 1
    assert fake_sms_activate.open_orders() == set()
    assert wallet_for_user(user=customer).balance == customer_funds()
    upstream_audit(now=later(1300))
    assert leaked(fake_sms_activate, upstream) == set()
    assert_money_settled()


def test_killed_after_the_buy_returned_before_the_number_was_recorded(
    customer, upstream, fake_sms_activate, eager_celery
):
    # given: the upstream answered at once, and the process dies before recording the number
    child, notified = _start(customer, stop_before_recording=True)
    assert notified.poll(20)
    sold = notified.recv()
    _kill(child)
    activation = Activation.objects.get()
    assert activation.state == State.PROCESSING and not activation.phone
    # when: reconciliation runs
    assert activations_reconcile(now=later(301)) == 1
    # then: the customer gets the number that was bought for them
    activation.refresh_from_db()
    assert (activation.state, activation.upstream_id) == (State.WAITING, sold)
    assert leaked(fake_sms_activate, upstream) == set()
    # and unused, it expires: refunded here, cancelled upstream
    assert activations_expire_due(now=later(1201)) == 1
    activation.refresh_from_db()
    assert activation.state == State.EXPIRED
    assert fake_sms_activate.open_orders() == set()
    assert wallet_for_user(user=customer).balance == customer_funds()
    assert_money_settled()


def customer_funds():
    from decimal import Decimal

    return Decimal("10.00")
