"""No upstream order is left open and paid for that no activation or rental holds.

A fake SMS-Activate upstream over real HTTP sells and then answers past our timeout, or hangs
up, and is then unreachable for longer than the activation's lifetime: reconciliation refunds
the customer, and the upstream audit cancels the order the upstream did sell."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from providers.adapters import adapter_for
from providers.models import Country, Service
from rentals.models import Activation, UpstreamOrphan
from rentals.services import activation_purchase, activations_reconcile
from rentals.services.upstream_audit import upstream_audit
from tests.providers.fakes import text
from tests.rentals.orphan_support import (
    assert_money_settled,
    later,
    leaked,
    sms_activate_provider,
    unreachable,
)
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
State = Activation.State


@pytest.fixture
def upstream(fake_sms_activate, catalog):
    return sms_activate_provider(fake_sms_activate)


@pytest.fixture
def telegram(catalog) -> Service:
    return Service.objects.get(code="tg")


@pytest.fixture
def usa(catalog) -> Country:
    return Country.objects.get(sms_activate_id=187)


def balance(user) -> Decimal:
    return wallet_for_user(user=user).balance


@pytest.mark.parametrize("fault", ["stall", "drop"])
def test_an_order_sold_then_lost_while_the_upstream_is_down_past_the_lifetime_is_cancelled(
    fault, customer, upstream, fake_sms_activate, telegram, usa
):
    # given: the upstream sells, then answers past the timeout or hangs up
    fake_sms_activate.after_sale, fake_sms_activate.stall_seconds = fault, 2.0
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    assert activation.state == State.UNKNOWN
    [sold] = fake_sms_activate.open_orders()
    fake_sms_activate.after_sale = ""
    # when: it cannot be reached until after the activation's lifetime
    with unreachable(upstream):
        assert activations_reconcile(now=later(31)) == 0
        assert activations_reconcile(now=later(1201)) == 1
        assert upstream_audit(now=later(1250))[0].error  # cannot list: nothing done
    activation.refresh_from_db()
    assert activation.state == State.FAILED and balance(customer) == Decimal("10.00")
    assert leaked(fake_sms_activate, upstream) == {sold}
    # then: once it answers again, the order nobody holds is cancelled there, its cost recorded
    [audit] = upstream_audit(now=later(1300))
    assert audit.released == 1
    assert leaked(fake_sms_activate, upstream) == set()
    assert fake_sms_activate.activations[int(sold)]["status"] == "cancel"
    orphan = UpstreamOrphan.objects.get()
    assert (orphan.upstream_id, orphan.kind, orphan.cost) == (sold, "activation", Decimal("12.5"))
    assert orphan.released_at is not None and orphan.attempts == 1
    assert_money_settled()
    # and a later run has nothing more to do
    assert upstream_audit(now=later(1600))[0].released == 0
    assert UpstreamOrphan.objects.get().attempts == 1


def test_orders_in_flight_wait_for_the_grace_period_and_held_orders_are_never_touched(
    customer, upstream, fake_sms_activate, telegram, usa
):
    # given: a delivered activation, and an order another purchase just made (not recorded yet)
    held = activation_purchase(user=customer, service=telegram, country=usa)
    assert held.state == State.WAITING
    in_flight = adapter_for(upstream).buy(service=telegram, country=usa)
    # when: the audit runs now, then after the grace period
    [first] = upstream_audit()
    # then: recorded, not cancelled yet
    assert first.released == 0 and [o.upstream_id for o in first.orphans] == [in_flight.upstream_id]
    assert fake_sms_activate.open_orders() == {held.upstream_id, in_flight.upstream_id}
    [second] = upstream_audit(now=later(601))
    assert second.released == 1
    assert fake_sms_activate.open_orders() == {held.upstream_id}
    cancels = [r.params["id"] for r in fake_sms_activate.requests if r.params.get("status") == "8"]
    assert cancels == [in_flight.upstream_id]


def test_an_order_held_only_by_a_refunded_activation_is_released(
    customer, upstream, fake_sms_activate, telegram, usa
):
    # given: an activation refunded by an operator whose upstream cancel never went out
    from rentals.services import activation_cancel_refund
    from tests.factories import UserFactory

    activation = activation_purchase(user=customer, service=telegram, country=usa)
    operator = UserFactory(is_staff=True)
    activation_cancel_refund(activation=activation, actor=operator)
    assert leaked(fake_sms_activate, upstream) == {activation.upstream_id}
    # when
    upstream_audit(now=later(700))
    # then
    assert leaked(fake_sms_activate, upstream) == set()
    assert_money_settled()


def test_a_refused_cancel_is_tried_again_until_the_upstream_confirms(
    upstream, fake_sms_activate, telegram, usa
):
    orphan = adapter_for(upstream).buy(service=telegram, country=usa)
    refuse = {"left": 1}
    set_status = fake_sms_activate._setStatus

    def early_denied_once(p):
        if refuse["left"]:
            refuse["left"] -= 1
            return text("EARLY_CANCEL_DENIED")
        return set_status(p)

    fake_sms_activate._setStatus = early_denied_once

    [first] = upstream_audit(now=later(601))
    row = UpstreamOrphan.objects.get()
    assert first.released == 0 and row.released_at is None and row.attempts == 1
    assert "EARLY_CANCEL_DENIED" in row.last_error or "refused" in row.last_error
    assert fake_sms_activate.open_orders() == {orphan.upstream_id}

    [second] = upstream_audit(now=later(700))
    row.refresh_from_db()
    assert second.released == 1 and row.released_at is not None and row.attempts == 2
    assert fake_sms_activate.open_orders() == set()


def test_an_orphan_the_upstream_closed_by_itself_is_recorded_as_released(
    upstream, fake_sms_activate, telegram, usa
):
    orphan = adapter_for(upstream).buy(service=telegram, country=usa)
    upstream_audit()  # seen, within the grace period
    fake_sms_activate.activations[int(orphan.upstream_id)]["status"] = "cancel"  # it expired

    upstream_audit()

    row = UpstreamOrphan.objects.get()
    assert row.released_at is not None and row.attempts == 0


def test_a_rent_nobody_holds_is_released(upstream, fake_sms_activate, usa):
    rented = adapter_for(upstream).rent(service=None, country=usa, hours=4)
    assert leaked(fake_sms_activate, upstream) == {f"rent:{rented.upstream_id}"}

    # getRentList does not say when a rent began: the grace period counts from the first sight
    assert upstream_audit(now=later(601))[0].released == 0
    [audit] = upstream_audit(now=later(1202))

    assert audit.released == 1
    assert fake_sms_activate.rents[int(rented.upstream_id)]["status"] == "cancelled"
    assert UpstreamOrphan.objects.get().kind == "rent"


def test_an_unreachable_upstream_is_reported_and_nothing_is_recorded(upstream):
    with unreachable(upstream):
        [audit] = upstream_audit(now=later(601))
    assert audit.error and audit.orphans == []
    assert not UpstreamOrphan.objects.exists()


def test_the_command_lists_orphans_with_their_cost_and_cancels_them_with_fix(
    upstream, fake_sms_activate, telegram, usa, capsys
):
    orphan = adapter_for(upstream).buy(service=telegram, country=usa)

    call_command("upstream_audit", "--provider", upstream.name)
    listed = capsys.readouterr().out
    assert orphan.upstream_id in listed and "12.50" in listed and "open" in listed
    assert fake_sms_activate.open_orders() == {orphan.upstream_id}  # a report changes nothing
    assert not UpstreamOrphan.objects.exists()

    call_command("upstream_audit", "--fix", "--grace", "0")
    fixed = capsys.readouterr().out
    assert "1 released now" in fixed
    assert fake_sms_activate.open_orders() == set()
    assert UpstreamOrphan.objects.get().released_at is not None


def test_the_command_refuses_an_unknown_provider():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("upstream_audit", "--provider", "nobody")


def test_a_simulator_orphan_is_released_too(customer, telegram, usa):
    from providers.models import SimulatedNumber
    from tests.rentals.conftest import make_simulator

    simulator = make_simulator()
    bought = adapter_for(simulator).buy(service=telegram, country=usa)

    upstream_audit(grace=timedelta(0))

    assert SimulatedNumber.objects.get(pk=bought.upstream_id).status == "cancelled"
    assert UpstreamOrphan.objects.get().cost == Decimal("0.50")


def test_the_admin_lists_orphans_read_only_for_support(client, upstream, fake_sms_activate, usa):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    adapter_for(upstream).buy(service=Service.objects.get(code="tg"), country=usa)
    upstream_audit(now=later(601))
    orphan = UpstreamOrphan.objects.get()
    support = UserFactory(is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    client.force_login(support)

    listed = client.get("/admin/rentals/upstreamorphan/")
    page = client.get(f"/admin/rentals/upstreamorphan/{orphan.pk}/change/")

    assert listed.status_code == 200 and orphan.upstream_id in listed.content.decode()
    assert page.status_code == 200 and 'name="upstream_id"' not in page.content.decode()
    assert client.get("/admin/rentals/upstreamorphan/add/").status_code == 403


def test_an_orphan_another_run_is_releasing_is_left_to_it(upstream, fake_sms_activate, usa):
    orphan = adapter_for(upstream).buy(service=Service.objects.get(code="tg"), country=usa)
    upstream_audit()  # recorded
    moment = later(601)
    UpstreamOrphan.objects.update(last_attempt_at=moment)  # another run leased it just now

    [audit] = upstream_audit(now=moment)

    assert audit.released == 0
    assert fake_sms_activate.open_orders() == {orphan.upstream_id}
    assert not [r for r in fake_sms_activate.requests if r.params.get("action") == "setStatus"]
    assert upstream_audit(now=later(700))[0].released == 1  # the lease ran out


def test_the_periodic_job_releases_orphans_and_records_its_run(
    upstream, fake_sms_activate, usa, settings
):
    from rentals import tasks
    from smsbox.models import JobRun

    settings.SMSBOX_ORPHAN_GRACE_SECONDS = 0
    adapter_for(upstream).buy(service=Service.objects.get(code="tg"), country=usa)

    assert tasks.upstream_audit() == 1

    assert fake_sms_activate.open_orders() == set()
    run = JobRun.objects.get(name="rentals.upstream_audit")
    assert run.rows == 1
