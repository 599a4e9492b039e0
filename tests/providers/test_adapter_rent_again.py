"""``Adapter.rent_again``: the number of an ended rent ordered again under a new id — by the
simulator, by SMS-Activate's ``continueRentNumber`` (against a fake over HTTP), and refused with
``Unsupported`` by the protocols that cannot."""

from decimal import Decimal

import pytest

from providers.adapters import (
    ADAPTERS,
    OutcomeUnknown,
    Unsupported,
    UpstreamRejected,
    adapter_for,
)
from providers.models import SimulatedNumber
from tests.factories import ProviderFactory
from tests.providers.fakes import as_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_activate(fake_sms_activate):
    return ProviderFactory(
        protocol="sms_activate", base_url=fake_sms_activate.handler_url, timeout=Decimal("5")
    )


def test_which_protocols_can_order_a_number_again():
    assert {name for name, cls in ADAPTERS.items() if cls.rents_again} == {
        "simulator",
        "sms_activate",
    }


@pytest.mark.parametrize("protocol", ["simsmsbox", "simple_get"])
def test_the_others_refuse_with_unsupported_without_a_call(protocol):
    provider = ProviderFactory(protocol=protocol, base_url="http://127.0.0.1:9/")

    with pytest.raises(Unsupported) as caught:
        adapter_for(provider).rent_again(upstream_id="5", hours=4)

    assert isinstance(caught.value, UpstreamRejected)


# --- the simulator ------------------------------------------------------------------------------
def test_simulator_orders_the_number_of_a_finished_rent_again(tg, usa):
    adapter = adapter_for(ProviderFactory())
    old = adapter.rent(service=tg, country=usa, hours=4)
    adapter.rent_finish(upstream_id=old.upstream_id)

    again = adapter.rent_again(upstream_id=old.upstream_id, hours=24)

    assert again.upstream_id != old.upstream_id and again.phone == old.phone
    number = SimulatedNumber.objects.get(pk=int(again.upstream_id))
    assert (number.kind, number.status, number.service_code) == ("rent", "waiting", "tg")
    assert again.ends_at == number.ends_at


def test_simulator_orders_a_cancelled_rent_again(usa):
    adapter = adapter_for(ProviderFactory())
    old = adapter.rent(service=None, country=usa, hours=4)
    adapter.rent_cancel(upstream_id=old.upstream_id)

    again = adapter.rent_again(upstream_id=old.upstream_id, hours=4)

    assert again.phone == old.phone
    assert SimulatedNumber.objects.get(pk=int(again.upstream_id)).service_code == "full"


def test_simulator_refuses_a_rent_still_running(tg, usa):
    adapter = adapter_for(ProviderFactory())
    old = adapter.rent(service=tg, country=usa, hours=4)

    with pytest.raises(UpstreamRejected) as caught:
        adapter.rent_again(upstream_id=old.upstream_id, hours=4)

    assert caught.value.extra["token"] == "BAD_STATUS"


def test_simulator_refuses_a_number_another_order_holds(tg, usa):
    adapter = adapter_for(ProviderFactory())
    old = adapter.rent(service=tg, country=usa, hours=4)
    adapter.rent_finish(upstream_id=old.upstream_id)
    sold = SimulatedNumber.objects.get(pk=int(old.upstream_id))
    sold.pk, sold.sequence, sold.kind, sold.status = None, 999, "activation", "waiting"
    sold.save()  # the upstream sold the number to somebody else meanwhile

    with pytest.raises(UpstreamRejected) as caught:
        adapter.rent_again(upstream_id=old.upstream_id, hours=4)

    assert caught.value.extra["token"] == "RENT_DIE"
    assert not SimulatedNumber.objects.filter(phone=old.phone, kind="rent", status="waiting")


def test_simulator_injected_timeout_takes_effect_with_the_number(tg, usa):
    provider = ProviderFactory()
    adapter = adapter_for(provider)
    old = adapter.rent(service=tg, country=usa, hours=4)
    adapter.rent_finish(upstream_id=old.upstream_id)
    provider.settings = {**provider.settings, "fail_timeout": 1.0}
    provider.save(update_fields=["settings"])

    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).rent_again(upstream_id=old.upstream_id, hours=4)

    [held] = adapter_for(provider).active_rents()
    assert held.phone == old.phone and held.upstream_id != old.upstream_id


# --- SMS-Activate -------------------------------------------------------------------------------
def test_sms_activate_continue_rent_number_reorders_a_finished_rent(
    sms_activate, fake_sms_activate, tg, usa
):
    adapter = adapter_for(sms_activate)
    old = adapter.rent(service=tg, country=usa, hours=4)
    adapter.rent_finish(upstream_id=old.upstream_id)

    again = adapter.rent_again(upstream_id=old.upstream_id, hours=24)

    sent = fake_sms_activate.requests[-1].params
    assert (sent["action"], sent["id"], sent["rent_time"]) == (
        "continueRentNumber",
        old.upstream_id,
        "24",
    )
    assert again.upstream_id != old.upstream_id and again.phone == old.phone
    assert fake_sms_activate.rents[int(again.upstream_id)]["status"] == "active"


def test_sms_activate_refusal_is_typed(sms_activate, fake_sms_activate):
    fake_sms_activate.respond_next(as_json({"status": "error", "message": "RENT_DIE"}))

    with pytest.raises(UpstreamRejected) as caught:
        adapter_for(sms_activate).rent_again(upstream_id="5", hours=4)

    assert caught.value.extra["token"] == "RENT_DIE"


def test_sms_activate_lost_answer_is_outcome_unknown(sms_activate, fake_sms_activate):
    fake_sms_activate.respond_next(as_json({"status": "success", "phone": {"id": "x"}}))

    with pytest.raises(OutcomeUnknown):
        adapter_for(sms_activate).rent_again(upstream_id="5", hours=4)
