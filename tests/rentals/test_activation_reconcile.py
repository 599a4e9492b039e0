"""Saga faults with the simulator: unknown buy outcomes and purchases left processing by a crash
are settled against the upstream by reconciliation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.adapters import NoNumbers, OutcomeUnknown, Transient
from providers.adapters.simulator import SimulatorAdapter
from providers.models import PurchaseAttempt, SimulatedNumber
from providers.router import purchase_route
from rentals.models import Activation
from rentals.services import activation_purchase, activations_reconcile
from rentals.services.activations import _deliver, _open
from rentals.status import smspool_code
from tests.rentals.conftest import make_simulator
from wallets.models import LedgerEntry
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
State = Activation.State


def balance(user) -> Decimal:
    return wallet_for_user(user=user).balance


def later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def refunds(activation) -> int:
    return LedgerEntry.objects.filter(
        kind="refund", reference_kind="activation", reference_id=activation.pk
    ).count()


@pytest.fixture
def timing_out(catalog):
    """A simulator whose every buy times out after taking effect."""
    return make_simulator(fail_timeout=1.0)


@pytest.fixture
def losing(catalog, monkeypatch):
    """A simulator whose every buy times out before taking effect."""
    provider = make_simulator()

    def buy(self, **kwargs):
        raise OutcomeUnknown("The request timed out.")

    monkeypatch.setattr(SimulatorAdapter, "buy", buy)
    return provider


def test_a_buy_timeout_leaves_the_activation_unknown_and_charged(
    customer, timing_out, telegram, usa
):
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    assert activation.state == State.UNKNOWN
    assert activation.provider == timing_out and activation.phone == ""
    assert smspool_code(activation) == 7
    assert balance(customer) == Decimal("9.50")
    attempt = PurchaseAttempt.objects.get()
    assert attempt.outcome == "unknown"


def test_reconciliation_delivers_a_number_that_was_bought_upstream(
    customer, timing_out, telegram, usa
):
    # given
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    bought = SimulatedNumber.objects.get(provider=timing_out)
    # when: not yet due, then due
    assert activations_reconcile(now=later(5)) == 0
    assert activations_reconcile(now=later(31)) == 1
    # then
    activation.refresh_from_db()
    assert activation.state == State.WAITING
    assert (activation.phone, activation.upstream_id) == (bought.phone, str(bought.pk))
    assert balance(customer) == Decimal("9.50") and refunds(activation) == 0
    assert activations_reconcile(now=later(31)) == 0


def test_reconciliation_refunds_a_purchase_the_upstream_never_made(customer, losing, telegram, usa):
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    assert activation.state == State.UNKNOWN
    assert activations_reconcile(now=later(31)) == 1
    activation.refresh_from_db()
    assert activation.state == State.FAILED
    assert balance(customer) == Decimal("10.00") and refunds(activation) == 1
    assert activations_reconcile(now=later(60)) == 0
    assert refunds(activation) == 1


def test_a_number_found_too_late_is_cancelled_upstream_and_refunded(
    customer, timing_out, telegram, usa
):
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    assert activations_reconcile(now=later(1300)) == 1
    activation.refresh_from_db()
    assert activation.state == State.FAILED
    assert SimulatedNumber.objects.get(provider=timing_out).status == "cancelled"
    assert balance(customer) == Decimal("10.00")


def test_an_upstream_that_cannot_answer_is_asked_again_then_refunded_at_expiry(
    customer, timing_out, telegram, usa, monkeypatch
):
    activation = activation_purchase(user=customer, service=telegram, country=usa)

    def down(self):
        raise Transient("503")

    monkeypatch.setattr(SimulatorAdapter, "active_activations", down)
    assert activations_reconcile(now=later(60)) == 0
    activation.refresh_from_db()
    assert activation.state == State.UNKNOWN
    assert activations_reconcile(now=later(1201)) == 1
    activation.refresh_from_db()
    assert activation.state == State.FAILED
    assert balance(customer) == Decimal("10.00")


def _crashed_purchase(customer, telegram, usa, *, bought: bool) -> Activation:
    """Step 1 of the saga, optionally step 2, then the process died."""
    activation, _ = _open(
        user=customer,
        service=telegram,
        country=usa,
        operator="",
        price=Decimal("0.50"),
        key="",
        webhook_url="",
        replaces=None,
    )
    if bought:
        purchase_route(service=telegram, country=usa)
    return activation


def test_a_processing_row_left_after_the_buy_gets_its_number(customer, simulator, telegram, usa):
    activation = _crashed_purchase(customer, telegram, usa, bought=True)
    attempt = PurchaseAttempt.objects.get(outcome="bought")
    assert activations_reconcile(now=later(60)) == 0  # may still be running
    assert activations_reconcile(now=later(301)) == 1
    activation.refresh_from_db()
    assert activation.state == State.WAITING
    assert activation.upstream_id == attempt.upstream_id
    assert balance(customer) == Decimal("9.50")


def test_a_processing_row_without_trace_is_refunded_once_the_offering_providers_hold_nothing(
    customer, simulator, telegram, usa
):
    # given: a crash after the charge (the request died, say its database connection was lost);
    # no purchase attempt names a provider to ask
    activation = _crashed_purchase(customer, telegram, usa, bought=False)
    # when: the purchase is stale
    assert activations_reconcile(now=later(301)) == 1
    # then: the provider offering the service and country was asked, holds nothing: refunded
    # now, not at the end of the activation's lifetime
    activation.refresh_from_db()
    assert activation.state == State.FAILED
    assert balance(customer) == Decimal("10.00")


def test_a_processing_row_without_trace_gets_the_number_an_offering_provider_sold(
    customer, simulator, telegram, usa
):
    # given: the request died after the upstream sold, before anything was recorded
    activation = _crashed_purchase(customer, telegram, usa, bought=False)
    sold = SimulatorAdapter(simulator).buy(
        service=telegram, country=usa, operator="", max_cost=Decimal("1")
    )
    assert not PurchaseAttempt.objects.exists()
    # when
    assert activations_reconcile(now=later(301)) == 1
    # then
    activation.refresh_from_db()
    assert (activation.state, activation.upstream_id) == (State.WAITING, sold.upstream_id)
    assert balance(customer) == Decimal("9.50")


def test_a_processing_row_nobody_can_be_asked_about_is_refunded_at_expiry(
    customer, simulator, telegram, usa
):
    # given: a crash after the charge; no attempt, and no provider offers the service any more
    activation = _crashed_purchase(customer, telegram, usa, bought=False)
    simulator.offers.all().delete()
    # when / then: nobody can say whether a buy was under way: kept until its lifetime is over
    assert activations_reconcile(now=later(301)) == 0
    activation.refresh_from_db()
    assert activation.state == State.PROCESSING
    assert activations_reconcile(now=later(1201)) == 1
    activation.refresh_from_db()
    assert activation.state == State.FAILED
    assert balance(customer) == Decimal("10.00")
    assert not Activation.objects.filter(state__in=Activation.PENDING_STATES).exists()


def test_a_processing_row_asks_the_providers_tried_and_is_refunded_when_they_hold_nothing(
    customer, telegram, usa
):
    # given: the crashed purchase tried a provider that had no numbers
    tried = make_simulator("Tried", fail_no_numbers=1.0)
    activation = _crashed_purchase(customer, telegram, usa, bought=False)
    with pytest.raises(NoNumbers):
        purchase_route(service=telegram, country=usa)
    assert PurchaseAttempt.objects.get().provider == tried
    # when
    assert activations_reconcile(now=later(301)) == 1
    # then: the upstream answered that it holds nothing for us
    activation.refresh_from_db()
    assert activation.state == State.FAILED
    assert balance(customer) == Decimal("10.00")


def test_a_processing_row_gets_a_number_a_tried_provider_still_holds(
    customer, simulator, telegram, usa
):
    # given: a provider was tried (one attempt left a trace), then the worker died in the
    # middle of a buy whose number the upstream holds open, with no attempt recorded
    activation = _crashed_purchase(customer, telegram, usa, bought=False)
    purchase_route(service=telegram, country=usa)
    recorded = PurchaseAttempt.objects.get()
    Activation.objects.create(  # the recorded purchase went to another order
        **{
            f.name: getattr(activation, f.name)
            for f in Activation._meta.fields
            if f.name not in ("id", "display_number", "binding_key", "idempotency_key")
        }
        | {
            "state": State.WAITING,
            "provider": simulator,
            "upstream_id": recorded.upstream_id,
            "phone": recorded.phone,
            "display_number": "A-other",
            "binding_key": "other",
        }
    )
    lost = SimulatorAdapter(simulator).buy(
        service=telegram, country=usa, operator="", max_cost=Decimal("1")
    )
    # when
    assert activations_reconcile(now=later(301)) == 1
    # then
    activation.refresh_from_db()
    assert (activation.state, activation.upstream_id) == (State.WAITING, lost.upstream_id)
    assert balance(customer) == Decimal("9.50")


def test_a_saga_finishing_after_reconciliation_releases_its_number(
    customer, simulator, telegram, usa
):
    # given: reconciliation refunded a purchase it thought crashed before the buy
    activation = _crashed_purchase(customer, telegram, usa, bought=False)
    activations_reconcile(now=later(1201))
    # when: the saga wakes up with a number
    routed = purchase_route(service=telegram, country=usa)
    result = _deliver(activation, routed)
    # then: the number goes back upstream; the customer keeps the refund, nothing more
    assert result.state == State.FAILED
    assert SimulatedNumber.objects.get(pk=routed.upstream_id).status == "cancelled"
    assert balance(customer) == Decimal("10.00") and refunds(activation) == 1


def test_reconciliation_never_takes_the_number_of_another_activation(
    customer, timing_out, telegram, usa
):
    # given: two purchases with unknown outcome; one of the numbers already delivered
    first = activation_purchase(user=customer, service=telegram, country=usa)
    second = activation_purchase(user=customer, service=telegram, country=usa)
    # when
    assert activations_reconcile(now=later(31)) == 2
    # then: each got its own number
    first.refresh_from_db()
    second.refresh_from_db()
    assert {first.state, second.state} == {State.WAITING}
    assert first.upstream_id != second.upstream_id
    assert balance(customer) == Decimal("9.00")


def test_a_number_lost_to_another_activation_is_never_cancelled_upstream(
    customer, simulator, telegram, usa, monkeypatch
):
    from rentals.services import reconcile

    # given: two crashed purchases, one number bought; both runs look before either adopts
    first = _crashed_purchase(customer, telegram, usa, bought=False)
    second = _crashed_purchase(customer, telegram, usa, bought=True)
    stale = reconcile._find_bought(second)
    assert reconcile.activation_reconcile(activation=first, now=later(301))
    # when: the second run goes on with what it saw
    monkeypatch.setattr(reconcile, "_find_bought", lambda activation: stale)
    assert not reconcile.activation_reconcile(activation=second, now=later(301))
    # then: the first keeps its number, open upstream; the second waits for the next run
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == State.WAITING
    assert SimulatedNumber.objects.get(pk=first.upstream_id).status == "waiting"
    assert second.state == State.PROCESSING and refunds(second) == 0


def test_a_failing_row_is_reported_and_the_run_goes_on(
    customer, losing, telegram, usa, monkeypatch
):
    from rentals.services import reconcile

    broken = activation_purchase(user=customer, service=telegram, country=usa)
    fine = activation_purchase(user=customer, service=telegram, country=usa)
    real = reconcile._find_bought

    def find(activation):
        if activation.pk == broken.pk:
            raise RuntimeError("bad row")
        return real(activation)

    monkeypatch.setattr(reconcile, "_find_bought", find)
    failures = []
    settled = activations_reconcile(
        now=later(31), on_failure=lambda row, exc: failures.append((row, str(exc)))
    )
    assert settled == 1
    assert failures == [(broken.pk, "bad row")]
    fine.refresh_from_db()
    assert fine.state == State.FAILED


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_never_work_one_row_twice(customer, losing, telegram, usa, monkeypatch):
    import contextlib
    import threading

    from django.db import connection

    from rentals.services import reconcile

    rows = [activation_purchase(user=customer, service=telegram, country=usa) for _ in range(4)]
    worked: list[int] = []
    together = threading.Barrier(2, timeout=5)
    real = reconcile._find_bought

    def find(activation):
        worked.append(activation.pk)
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait()  # make the two runs overlap on their first rows
        return real(activation)

    monkeypatch.setattr(reconcile, "_find_bought", find)
    settled = []

    def run():
        try:
            settled.append(activations_reconcile(now=later(31)))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(worked) == sorted(a.pk for a in rows)
    assert sum(settled) == 4
    assert refunds_total() == 4


def refunds_total() -> int:
    return LedgerEntry.objects.filter(kind="refund").count()
