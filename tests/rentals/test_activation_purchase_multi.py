"""One number for several services: the purchase saga for a group of activations, its faults,
reconciliation of activations that share a phone, and each activation's own life afterwards."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from providers.adapters import NoNumbers
from providers.adapters.simulator import simulator_deliver_due
from providers.models import PurchaseAttempt, Service, SimulatedNumber
from providers.router import MaxPriceTooLow, multi_routable_offers, purchase_route_multi
from rentals.errors import BadMultiService, CancelAfterSms, ChannelsLimit, DailyCapReached
from rentals.models import Activation
from rentals.services import (
    activation_cancel,
    activation_cancel_refund,
    activation_finish,
    activations_purchase_multi,
    activations_reconcile,
    spend_policy_set,
)
from rentals.services import multi as multi_module
from rentals.services.multi import _deliver_all, _open_all
from tests.factories import StaffFactory, UserFactory
from tests.rentals.conftest import age, fund, make_simulator, sms_arrives
from wallets.errors import InsufficientFunds
from wallets.models import LedgerEntry
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
State = Activation.State


@pytest.fixture
def whatsapp(catalog) -> Service:
    return Service.objects.get(code="wa")


@pytest.fixture
def both(telegram, whatsapp) -> list[Service]:
    return [telegram, whatsapp]


def balance(user) -> Decimal:
    return wallet_for_user(user=user).balance


def later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def entries(activation: Activation, kind: str) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(
            kind=kind, reference_kind="activation", reference_id=str(activation.pk)
        )
    )


def check_ledger() -> None:
    call_command("check_ledger")  # raises CommandError when a wallet is out of balance


def buy(user, services, country, **kwargs) -> list[Activation]:
    return activations_purchase_multi(user=user, services=services, country=country, **kwargs)


# --- the saga ---------------------------------------------------------------------------------
def test_one_number_one_charged_activation_per_service(customer, simulator, both, usa):
    # when
    activations = buy(customer, both, usa)
    # then
    assert [a.service.code for a in activations] == ["tg", "wa"]
    assert {a.state for a in activations} == {State.WAITING}
    assert len({a.phone for a in activations}) == 1 and activations[0].phone
    assert len({a.upstream_id for a in activations}) == 2
    for activation in activations:
        order = SimulatedNumber.objects.get(pk=activation.upstream_id)
        assert (order.service_code, order.phone) == (activation.service.code, activation.phone)
        assert activation.price == activation.cost == Decimal("0.50")
        [charge] = entries(activation, "charge")
        assert charge.amount == Decimal("-0.50")
        assert entries(activation, "refund") == []
    assert balance(customer) == Decimal("9.00")
    check_ledger()


def test_a_wallet_that_cannot_pay_for_every_service_pays_for_none(simulator, both, usa):
    user = UserFactory()
    fund(user, "0.75")  # one service, not two

    with pytest.raises(InsufficientFunds):
        buy(user, both, usa)

    assert not Activation.objects.filter(user=user).exists()
    assert not LedgerEntry.objects.filter(kind="charge").exists()
    assert not PurchaseAttempt.objects.exists()  # nothing asked upstream
    assert balance(user) == Decimal("0.75")
    check_ledger()


def test_no_numbers_anywhere_refunds_every_activation(customer, both, usa):
    make_simulator(fail_no_numbers=1.0)

    with pytest.raises(NoNumbers):
        buy(customer, both, usa)

    activations = Activation.objects.filter(user=customer)
    assert activations.count() == 2
    for activation in activations:
        assert activation.state == State.FAILED
        assert len(entries(activation, "charge")) == len(entries(activation, "refund")) == 1
    assert balance(customer) == Decimal("10.00")
    check_ledger()


def test_no_provider_selling_every_service_charges_nothing(customer, telegram, usa):
    make_simulator(services=["tg"])
    make_simulator("Other", services=["wa"])

    with pytest.raises(NoNumbers):
        buy(customer, [telegram, Service.objects.get(code="wa")], usa)

    assert not Activation.objects.exists() and balance(customer) == Decimal("10.00")


def test_fails_over_to_a_second_provider(customer, both, usa):
    dry = make_simulator("Dry", fail_no_numbers=1.0)
    second = make_simulator("Second")

    activations = buy(customer, both, usa)

    assert {(a.state, a.provider) for a in activations} == {(State.WAITING, second)}
    assert len({a.phone for a in activations}) == 1
    assert PurchaseAttempt.objects.filter(provider=dry, outcome="no_numbers").count() == 2
    assert balance(customer) == Decimal("9.00")
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    check_ledger()


def test_each_service_is_charged_its_own_price(customer, both, usa):
    make_simulator(costs={"tg": "0.25", "wa": "1.50"})

    tg_activation, wa_activation = buy(customer, both, usa)

    assert (tg_activation.price, wa_activation.price) == (Decimal("0.25"), Decimal("1.50"))
    assert balance(customer) == Decimal("8.25")
    with pytest.raises(MaxPriceTooLow) as caught:
        buy(customer, both, usa, max_price=Decimal("1.00"))
    assert caught.value.extra == {"min_price": "1.50"}
    assert balance(customer) == Decimal("8.25")


@pytest.mark.parametrize("count", [0, 11])
def test_one_to_ten_services(customer, simulator, usa, count):
    services = list(Service.objects.order_by("pk")[:count])
    with pytest.raises(BadMultiService):
        buy(customer, services, usa)


def test_a_service_named_twice_is_refused(customer, simulator, telegram, usa):
    with pytest.raises(BadMultiService):
        buy(customer, [telegram, telegram], usa)
    assert not Activation.objects.exists()


def test_the_spend_policy_counts_every_activation_of_the_group(customer, simulator, both, usa):
    spend_policy_set(user=customer, max_concurrent=1)
    with pytest.raises(ChannelsLimit):
        buy(customer, both, usa)
    spend_policy_set(user=customer, daily_cap=Decimal("0.75"))
    with pytest.raises(DailyCapReached):
        buy(customer, both, usa)
    assert not Activation.objects.exists() and balance(customer) == Decimal("10.00")


# --- unknown outcomes and reconciliation of a shared number -----------------------------------
def test_an_unknown_outcome_leaves_every_activation_unknown_and_charged(customer, both, usa):
    timing_out = make_simulator(fail_timeout=1.0)

    activations = buy(customer, both, usa)

    assert {(a.state, a.provider, a.phone) for a in activations} == {
        (State.UNKNOWN, timing_out, "")
    }
    assert balance(customer) == Decimal("9.00")


def test_reconciliation_gives_each_activation_its_own_order_on_the_shared_number(
    customer, both, usa
):
    # given
    timing_out = make_simulator(fail_timeout=1.0)
    activations = buy(customer, both, usa)
    orders = {n.service_code: n for n in SimulatedNumber.objects.filter(provider=timing_out)}
    # when
    assert activations_reconcile(now=later(31)) == 2
    # then
    for activation in activations:
        activation.refresh_from_db()
        order = orders[activation.service.code]
        assert activation.state == State.WAITING
        assert (activation.upstream_id, activation.phone) == (str(order.pk), order.phone)
        assert entries(activation, "refund") == []
    assert len({a.phone for a in activations}) == 1
    assert balance(customer) == Decimal("9.00")
    assert activations_reconcile(now=later(62)) == 0
    check_ledger()


def test_two_groups_of_unknown_outcome_each_get_their_own_number(customer, both, usa):
    make_simulator(fail_timeout=1.0)
    first, second = buy(customer, both, usa), buy(customer, both, usa)

    assert activations_reconcile(now=later(31)) == 4

    phones = []
    for group in (first, second):
        for activation in group:
            activation.refresh_from_db()
        assert {a.state for a in group} == {State.WAITING}
        assert len({a.phone for a in group}) == 1
        phones.append(group[0].phone)
    assert phones[0] != phones[1]
    assert balance(customer) == Decimal("8.00")
    check_ledger()


def test_a_shared_number_found_too_late_is_given_back_and_every_activation_refunded(
    customer, both, usa
):
    timing_out = make_simulator(fail_timeout=1.0)
    activations = buy(customer, both, usa)

    assert activations_reconcile(now=later(1300)) == 2

    for activation in activations:
        activation.refresh_from_db()
        assert activation.state == State.FAILED
        assert len(entries(activation, "refund")) == 1
    statuses = SimulatedNumber.objects.filter(provider=timing_out).values_list("status", flat=True)
    assert list(statuses) == ["cancelled", "cancelled"]
    assert balance(customer) == Decimal("10.00")
    check_ledger()


def test_a_crash_after_the_buy_is_settled_by_reconciliation(
    customer, simulator, both, usa, monkeypatch
):
    # given: the worker died between the upstream buy and recording the number
    def crash(activations, routed):
        raise SystemExit("worker killed")

    monkeypatch.setattr(multi_module, "_deliver_all", crash)
    with pytest.raises(SystemExit):
        buy(customer, both, usa)
    activations = list(Activation.objects.filter(user=customer).order_by("pk"))
    assert {a.state for a in activations} == {State.PROCESSING}
    bought = {a.service.code: a for a in PurchaseAttempt.objects.filter(outcome="bought")}
    # when
    assert activations_reconcile(now=later(301)) == 2
    # then: each gets the order bought for its service, on the one number
    for activation in activations:
        activation.refresh_from_db()
        attempt = bought[activation.service.code]
        assert activation.state == State.WAITING
        assert (activation.upstream_id, activation.phone) == (attempt.upstream_id, attempt.phone)
    assert len({a.phone for a in activations}) == 1
    assert balance(customer) == Decimal("9.00")
    check_ledger()


def _opened(customer, services, usa) -> list[Activation]:
    """Step 1 of the saga alone."""
    activations, _ = _open_all(
        user=customer,
        services=services,
        country=usa,
        operator="",
        prices=[Decimal("0.50")] * len(services),
        webhook_url="",
    )
    return activations


def test_an_order_taken_meanwhile_refunds_the_group_and_gives_back_the_rest(
    customer, simulator, both, usa
):
    # given: the number was bought; then another activation took the telegram order
    activations = _opened(customer, both, usa)
    routed = purchase_route_multi(services=both, country=usa)
    tg_order, wa_order = routed.orders
    other = UserFactory()
    fund(other, "1.00")
    taker = buy(other, [both[0]], usa)[0]
    Activation.objects.filter(pk=taker.pk).update(upstream_id=tg_order.upstream_id)
    # when
    with pytest.raises(NoNumbers):
        _deliver_all(activations, routed)
    # then
    for activation in activations:
        activation.refresh_from_db()
        assert activation.state == State.FAILED and len(entries(activation, "refund")) == 1
    assert SimulatedNumber.objects.get(pk=wa_order.upstream_id).status == "cancelled"
    assert SimulatedNumber.objects.get(pk=tg_order.upstream_id).status == "waiting"
    assert balance(customer) == Decimal("10.00")
    check_ledger()


def test_an_activation_settled_meanwhile_keeps_its_refund_and_its_order_goes_back(
    customer, simulator, both, usa
):
    # given: an operator refunded the telegram activation while the number was being bought
    activations = _opened(customer, both, usa)
    routed = purchase_route_multi(services=both, country=usa)
    activation_cancel_refund(activation=activations[0], actor=StaffFactory())
    # when
    tg_activation, wa_activation = _deliver_all(activations, routed)
    # then
    assert tg_activation.state == State.FAILED and len(entries(tg_activation, "refund")) == 1
    assert wa_activation.state == State.WAITING and wa_activation.phone == routed.phone
    tg_order, wa_order = routed.orders
    assert SimulatedNumber.objects.get(pk=tg_order.upstream_id).status == "cancelled"
    assert SimulatedNumber.objects.get(pk=wa_order.upstream_id).status == "waiting"
    assert balance(customer) == Decimal("9.50")
    check_ledger()


# --- afterwards, each activation lives on its own ---------------------------------------------
def test_each_activation_receives_its_own_sms_and_is_finished_alone(
    customer, simulator, both, usa, eager_celery, django_capture_on_commit_callbacks
):
    # given
    tg_activation, wa_activation = buy(customer, both, usa)
    # when: the telegram SMS comes and the customer finishes it
    tg_activation = sms_arrives(tg_activation, "Your Telegram code is 111111")
    with django_capture_on_commit_callbacks(execute=True):
        activation_finish(activation=tg_activation)
    # then: WhatsApp still waits on the same number
    wa_activation.refresh_from_db()
    tg_activation.refresh_from_db()
    assert (tg_activation.state, tg_activation.code) == (State.COMPLETED, "111111")
    assert (wa_activation.state, wa_activation.code) == (State.WAITING, "")
    assert SimulatedNumber.objects.get(pk=tg_activation.upstream_id).status == "finished"
    assert SimulatedNumber.objects.get(pk=wa_activation.upstream_id).status == "waiting"
    # when: WhatsApp gets its own code, which cannot be cancelled any more, then is finished
    wa_activation = sms_arrives(wa_activation, "WhatsApp code 222-333")
    assert (wa_activation.state, wa_activation.code) == (State.RECEIVED, "222333")
    with pytest.raises(CancelAfterSms):
        activation_cancel(activation=age(wa_activation, 200))
    activation_finish(activation=wa_activation)
    # then: both kept their charge
    assert balance(customer) == Decimal("9.00")
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    check_ledger()


def test_one_activation_cancelled_is_refunded_alone(
    customer, simulator, both, usa, eager_celery, django_capture_on_commit_callbacks
):
    tg_activation, wa_activation = buy(customer, both, usa)
    sms_arrives(tg_activation)

    with django_capture_on_commit_callbacks(execute=True):
        activation_cancel(activation=age(wa_activation, 200))

    wa_activation.refresh_from_db()
    tg_activation.refresh_from_db()
    assert (wa_activation.state, len(entries(wa_activation, "refund"))) == (State.CANCELLED, 1)
    assert (tg_activation.state, entries(tg_activation, "refund")) == (State.RECEIVED, [])
    assert SimulatedNumber.objects.get(pk=wa_activation.upstream_id).status == "cancelled"
    assert balance(customer) == Decimal("9.50")
    check_ledger()


def test_the_simulator_sends_each_activation_its_own_code(customer, simulator, both, usa):
    activations = buy(customer, both, usa)
    SimulatedNumber.objects.update(sms_due_at=later(-1))

    assert simulator_deliver_due(provider_id=simulator.pk) == 2

    codes = {n.pk: n.code for n in SimulatedNumber.objects.all()}
    for activation in activations:
        activation.refresh_from_db()
        assert activation.state == State.RECEIVED
        assert activation.code == codes[int(activation.upstream_id)]
        assert activation.messages.get().code == activation.code
    assert activations[0].code != activations[1].code


def test_the_router_quotes_only_providers_selling_the_whole_group(simulator, both, usa):
    make_simulator("Telegram only", services=["tg"], cost="0.01")
    assert [c.provider for c in multi_routable_offers(services=both, country=usa)] == [simulator]
