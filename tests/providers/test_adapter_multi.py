"""``buy_multi``: one number for several services, one upstream order per service.

The SMS-Activate adapter against the fake upstream over HTTP on localhost (action
``getMultiServiceNumber``), the simulator with its own pool, and the capability the router
reads to skip protocols that cannot.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.adapters import (
    BadCredentials,
    NoNumbers,
    OutcomeUnknown,
    Transient,
    Unsupported,
    UpstreamNoBalance,
    UpstreamStatus,
    adapter_for,
)
from providers.models import SimulatedNumber
from tests.factories import ProviderFactory, _catalog
from tests.providers.fakes import as_json, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def upstream(fake_sms_activate):
    return ProviderFactory(
        protocol="sms_activate",
        base_url=fake_sms_activate.handler_url,
        extra_params={"pool": "7"},
        timeout=Decimal("5"),
    )


# --- SMS-Activate -----------------------------------------------------------------------------
def test_one_number_one_activation_per_service(upstream, fake_sms_activate, tg, wa, usa):
    # when
    bought = adapter_for(upstream).buy_multi(services=[tg, wa], country=usa, operator="att")
    # then
    assert bought.phone == "79995468022"
    assert [(o.service_code, o.upstream_id, o.cost) for o in bought.orders] == [
        ("tg", "635468022", None),
        ("wa", "635468023", None),
    ]
    sent = fake_sms_activate.requests[-1].params
    assert sent["action"] == "getMultiServiceNumber"
    assert (sent["multiService"], sent["country"], sent["operator"]) == ("tg,wa", "187", "att")
    assert sent["pool"] == "7" and sent["api_key"] == "upstream-secret"
    assert "maxPrice" not in sent  # the action takes none


def test_codes_are_mapped_both_ways(upstream, fake_sms_activate, tg, wa, usa):
    upstream.service_codes = {"tg": "telegram"}
    upstream.country_codes = {"187": "12"}

    bought = adapter_for(upstream).buy_multi(services=[wa, tg], country=usa)

    sent = fake_sms_activate.requests[-1].params
    assert (sent["multiService"], sent["country"]) == ("wa,telegram", "12")
    assert [o.service_code for o in bought.orders] == ["wa", "tg"]


def test_each_activation_gets_its_own_code(upstream, fake_sms_activate, tg, wa, usa):
    adapter = adapter_for(upstream)
    bought = adapter.buy_multi(services=[tg, wa], country=usa)
    tg_order, wa_order = bought.orders

    fake_sms_activate.deliver(int(wa_order.upstream_id), "4242")

    assert adapter.status(upstream_id=tg_order.upstream_id).state == UpstreamStatus.WAITING
    wa_status = adapter.status(upstream_id=wa_order.upstream_id)
    assert (wa_status.state, wa_status.code) == (UpstreamStatus.RECEIVED, "4242")
    adapter.finish(upstream_id=wa_order.upstream_id)
    adapter.cancel(upstream_id=tg_order.upstream_id)
    assert fake_sms_activate.activations[int(wa_order.upstream_id)]["status"] == "done"
    assert fake_sms_activate.activations[int(tg_order.upstream_id)]["status"] == "cancel"


def test_the_upstream_lists_each_open_order_under_its_service(
    upstream, fake_sms_activate, tg, wa, usa
):
    adapter = adapter_for(upstream)
    bought = adapter.buy_multi(services=[tg, wa], country=usa)

    listed = {(a.upstream_id, a.service_code, a.phone) for a in adapter.active_activations()}

    assert listed == {(o.upstream_id, o.service_code, bought.phone) for o in bought.orders}


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (text("NO_NUMBERS"), NoNumbers),
        (as_json({"status": "error", "message": "NO_NUMBERS"}), NoNumbers),
        (text("NO_BALANCE"), UpstreamNoBalance),
        (text("BAD_SERVICE"), NoNumbers),
        (text("BAD_KEY"), BadCredentials),
        (text("BANNED:2030-1-1 10-00-00"), BadCredentials),
        (text("ERROR_SQL"), Transient),
        (text("BAD_ACTION"), Unsupported),  # a compatible server without the action
        (text("", status=503), Transient),
        (text("", status=500), OutcomeUnknown),
        (text("ACCESS_NUMBER:1:79990000000"), OutcomeUnknown),  # unreadable: maybe bought
        (as_json([]), OutcomeUnknown),
        (as_json({"status": "success"}), OutcomeUnknown),
        # a service missing, or the services on different numbers: not what was asked for
        (as_json([{"phone": "79990000001", "activation": "11", "service": "tg"}]), OutcomeUnknown),
        (
            as_json(
                [
                    {"phone": "79990000001", "activation": "11", "service": "tg"},
                    {"phone": "79990000002", "activation": "12", "service": "wa"},
                ]
            ),
            OutcomeUnknown,
        ),
        (
            as_json(
                [
                    {"phone": "79990000001", "activation": "11", "service": "tg"},
                    {"phone": "79990000001", "activation": "x", "service": "wa"},
                ]
            ),
            OutcomeUnknown,
        ),
    ],
)
def test_answers_that_are_no_number(upstream, fake_sms_activate, tg, wa, usa, answer, error):
    fake_sms_activate.respond_next(answer)
    with pytest.raises(error):
        adapter_for(upstream).buy_multi(services=[tg, wa], country=usa)


def test_a_buy_that_times_out_is_of_unknown_outcome(upstream, fake_sms_activate, tg, wa, usa):
    upstream.timeout = Decimal("0.2")
    fake_sms_activate.delay = 0.6
    with pytest.raises(OutcomeUnknown):
        adapter_for(upstream).buy_multi(services=[tg, wa], country=usa)


# --- capability -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("protocol", "settings", "can"),
    [
        ("sms_activate", {}, True),
        ("sms_activate", {"multi_service": False}, False),
        ("simulator", {}, True),
        ("simsmsbox", {}, False),
        ("simple_get", {}, False),
    ],
)
def test_which_providers_buy_one_number_for_several_services(protocol, settings, can):
    provider = ProviderFactory.build(protocol=protocol, settings=settings)
    assert adapter_for(provider).buys_multi_service is can


@pytest.mark.parametrize("protocol", ["simsmsbox", "simple_get"])
def test_the_other_protocols_refuse_before_any_call(protocol, tg, wa, usa):
    provider = ProviderFactory(protocol=protocol, base_url="http://127.0.0.1:9")
    with pytest.raises(Unsupported):
        adapter_for(provider).buy_multi(services=[tg, wa], country=usa)


# --- simulator --------------------------------------------------------------------------------
@pytest.fixture
def simulator():
    return ProviderFactory(
        settings={"countries": [187], "services": ["tg", "wa"], "sms_delay": None, "seed": 3}
    )


def test_the_simulator_sells_one_number_with_an_order_per_service(simulator, tg, wa, usa):
    bought = adapter_for(simulator).buy_multi(services=[tg, wa], country=usa)

    numbers = SimulatedNumber.objects.filter(provider=simulator).order_by("sequence")
    assert [(n.service_code, str(n.pk), n.phone, n.status) for n in numbers] == [
        ("tg", bought.orders[0].upstream_id, bought.phone, "waiting"),
        ("wa", bought.orders[1].upstream_id, bought.phone, "waiting"),
    ]
    assert [o.cost for o in bought.orders] == [Decimal("0.10"), Decimal("0.10")]
    # the number is busy: a sale meanwhile gets another one
    other = adapter_for(simulator).buy(service=tg, country=usa)
    assert other.phone != bought.phone


def test_each_simulated_order_delivers_its_own_sms(simulator, tg, wa, usa):
    from providers.adapters.simulator import simulator_deliver_due

    adapter = adapter_for(simulator)
    bought = adapter.buy_multi(services=[tg, wa], country=usa)
    SimulatedNumber.objects.filter(provider=simulator).update(
        sms_due_at=timezone.now() - timedelta(seconds=1)
    )

    assert simulator_deliver_due(provider_id=simulator.pk) == 2

    tg_status, wa_status = (adapter.status(upstream_id=o.upstream_id) for o in bought.orders)
    assert tg_status.state == wa_status.state == UpstreamStatus.RECEIVED
    assert tg_status.code != wa_status.code
    assert tg_status.messages[0].text == f"Your tg code is {tg_status.code}"
    adapter.finish(upstream_id=bought.orders[0].upstream_id)
    assert SimulatedNumber.objects.get(pk=bought.orders[1].upstream_id).status == "received"


def test_the_simulator_sells_nothing_when_one_service_cannot_be_sold(simulator, tg, usa):
    telegram_and_vk = [tg, _catalog("Service", code="vk")]
    with pytest.raises(NoNumbers):
        adapter_for(simulator).buy_multi(services=telegram_and_vk, country=usa)
    with pytest.raises(NoNumbers):
        adapter_for(simulator).buy_multi(
            services=[tg], country=usa, max_costs={"tg": Decimal("0.05")}
        )
    assert not SimulatedNumber.objects.exclude(status="failed").exists()


def test_a_simulated_timeout_leaves_every_order_open(simulator, tg, wa, usa):
    simulator.settings = {**simulator.settings, "fail_timeout": 1.0}
    adapter = adapter_for(simulator)
    with pytest.raises(OutcomeUnknown):
        adapter.buy_multi(services=[tg, wa], country=usa)
    opened = adapter.active_activations()
    assert sorted(a.service_code for a in opened) == ["tg", "wa"]
    assert len({a.phone for a in opened}) == 1
