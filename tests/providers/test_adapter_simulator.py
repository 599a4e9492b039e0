from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from providers import tasks
from providers.adapters import (
    NoNumbers,
    OutcomeUnknown,
    Transient,
    UpstreamRejected,
    UpstreamStatus,
    adapter_for,
)
from providers.models import Country, Provider, PurchaseAttempt, Service, SimulatedNumber
from providers.signals import upstream_sms_received
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    calls = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    upstream_sms_received.connect(receiver)
    yield calls
    upstream_sms_received.disconnect(receiver)


def simulator(**settings):
    return ProviderFactory(settings={"sms_delay": 0, **settings})


def sell(provider, service, country, n):
    adapter = adapter_for(provider)
    phones, codes = [], []
    for _ in range(n):
        bought = adapter.buy(service=service, country=country)
        phones.append(bought.phone)
        codes.append(adapter.status(upstream_id=bought.upstream_id).code)
    return phones, codes


def test_the_same_seed_gives_the_same_numbers_and_codes(tg, usa):
    first = sell(simulator(seed=7), tg, usa, 5)
    second = sell(simulator(seed=7), tg, usa, 5)
    other = sell(simulator(seed=8), tg, usa, 5)

    assert first == second
    assert first[0] != other[0] and first[1] != other[1]
    assert all(p.startswith("1") and len(p) == 11 for p in first[0])
    assert all(len(c) == 6 and c.isdigit() for c in first[1])
    assert len(set(first[0])) == 5  # numbers in use are not sold twice


@pytest.mark.parametrize(
    ("pool_size", "start"), [(40, 0.0), (40, 0.5), (40, 0.9), (40, 0.99), (5, 0.5)]
)
def test_the_first_candidates_are_the_head_of_the_pool_in_order(pool_size, start):
    adapter = adapter_for(Provider(protocol="simulator", settings={"pool_size": pool_size}))
    pool = adapter._pool(187)
    first = int(start * len(pool))
    in_order = pool[first:] + pool[:first]

    assert adapter._in_order(187, start) == in_order
    assert adapter._in_order(187, start, 16) == in_order[:16]


def test_code_format_is_configurable(tg, usa):
    _, codes = sell(simulator(code_length=8, code_alphabet="alnum"), tg, usa, 3)

    assert all(len(c) == 8 and c.isalnum() for c in codes)


def test_each_injected_failure_happens_at_its_share(tg, usa):
    provider = simulator(
        seed=3,
        sms_delay=5,
        fail_no_numbers=0.2,
        fail_timeout=0.1,
        fail_transient=0.15,
        late_sms=0.25,
    )
    adapter = adapter_for(provider)
    outcomes = {"ok": 0, NoNumbers: 0, OutcomeUnknown: 0, Transient: 0}
    buys = 600
    for _ in range(buys):
        try:
            adapter.buy(service=tg, country=usa)
            outcomes["ok"] += 1
        except (NoNumbers, OutcomeUnknown, Transient) as exc:
            outcomes[type(exc)] += 1

    assert outcomes[NoNumbers] / buys == pytest.approx(0.2, abs=0.04)
    assert outcomes[OutcomeUnknown] / buys == pytest.approx(0.1, abs=0.04)
    assert outcomes[Transient] / buys == pytest.approx(0.15, abs=0.04)
    sold = SimulatedNumber.objects.filter(provider=provider, status="waiting")
    assert sold.count() == outcomes["ok"] + outcomes[OutcomeUnknown]  # a timed-out buy did buy
    late = sum(1 for n in sold if n.sms_due_at - n.created_at > timedelta(seconds=60))
    assert late / sold.count() == pytest.approx(0.25, abs=0.05)


def test_sms_arrives_after_the_delay_through_the_signal(tg, usa, received):
    provider = simulator(sms_delay=60)
    adapter = adapter_for(provider)
    bought = adapter.buy(service=tg, country=usa)
    PurchaseAttempt.objects.create(
        provider=provider,
        service=tg,
        country=usa,
        outcome="bought",
        latency_ms=1,
        upstream_id=bought.upstream_id,
    )

    assert adapter.status(upstream_id=bought.upstream_id).state == UpstreamStatus.WAITING
    assert received == []
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        status = adapter.status(upstream_id=bought.upstream_id)

    assert status.state == UpstreamStatus.RECEIVED
    [call] = received
    assert call["provider"] == provider and call["upstream_id"] == bought.upstream_id
    assert call["phone"] == bought.phone and call["code"] == status.code
    assert status.code in call["text"]
    assert PurchaseAttempt.objects.get().sms_received_at is not None


def test_the_scheduled_task_delivers_once(tg, usa, received, django_capture_on_commit_callbacks):
    provider = simulator(sms_delay=0)
    with django_capture_on_commit_callbacks() as callbacks:
        bought = adapter_for(provider).buy(service=tg, country=usa)
    assert len(callbacks) == 1  # the delivery task is enqueued after commit

    tasks.simulator_deliver_sms(int(bought.upstream_id))
    tasks.simulator_deliver_sms(int(bought.upstream_id))

    assert len(received) == 1


def test_never_means_no_sms(tg, usa, received):
    provider = simulator(sms_delay=None)
    bought = adapter_for(provider).buy(service=tg, country=usa)

    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert adapter_for(provider).status(upstream_id=bought.upstream_id).state == "waiting"
        tasks.simulator_deliver_due_all()
    assert received == []


def test_another_sms_cancel_and_finish(tg, usa, received):
    adapter = adapter_for(simulator())
    bought = adapter.buy(service=tg, country=usa)
    first = adapter.status(upstream_id=bought.upstream_id).code

    adapter.request_another_sms(upstream_id=bought.upstream_id)
    second = adapter.status(upstream_id=bought.upstream_id)
    assert second.state == "received" and len(second.messages) == 2
    assert second.code != first

    adapter.finish(upstream_id=bought.upstream_id)
    assert adapter.status(upstream_id=bought.upstream_id).state == "finished"
    with pytest.raises(UpstreamRejected):
        adapter.cancel(upstream_id=bought.upstream_id)

    other = adapter_for(simulator(sms_delay=None))
    waiting = other.buy(service=tg, country=usa)
    other.cancel(upstream_id=waiting.upstream_id)
    assert other.status(upstream_id=waiting.upstream_id).state == "cancelled"
    with pytest.raises(UpstreamRejected):
        other.status(upstream_id="999999")


def test_stock_cost_countries_and_pool(tg, usa):
    provider = simulator(pool_size=2, countries=[187], costs={"tg": "0.30"})
    adapter = adapter_for(provider)

    assert adapter.buy(service=tg, country=usa).cost == Decimal("0.30")
    with pytest.raises(NoNumbers):
        adapter.buy(service=tg, country=usa, max_cost=Decimal("0.29"))
    adapter.buy(service=tg, country=usa)
    with pytest.raises(NoNumbers):  # both numbers of the pool are in use
        adapter.buy(service=tg, country=usa)
    with pytest.raises(NoNumbers):
        adapter.buy(service=tg, country=Country.objects.get(sms_activate_id=0))


def test_offers_cover_every_visible_service_in_its_countries():
    provider = simulator(countries=[187, 16], stock=7, cost="0.20")

    quotes = adapter_for(provider).fetch_offers()

    services = Service.objects.filter(visible=True).count()
    assert len(quotes) == 2 * services
    assert {q.stock for q in quotes} == {7} and {q.cost for q in quotes} == {Decimal("0.20")}


def test_rent(tg, usa):
    adapter = adapter_for(simulator())

    rented = adapter.rent(service=tg, country=usa, hours=4)
    assert rented.ends_at - timezone.now() > timedelta(hours=3)
    [message] = adapter.rent_messages(upstream_id=rented.upstream_id)
    assert message.code and message.code in message.text

    extended = adapter.rent_extend(upstream_id=rented.upstream_id, hours=4)
    assert extended.ends_at - rented.ends_at == timedelta(hours=4)
    adapter.rent_finish(upstream_id=rented.upstream_id)
    with pytest.raises(UpstreamRejected):
        adapter.rent_extend(upstream_id=rented.upstream_id, hours=4)
    assert adapter.balance() == Decimal("1000.00")
