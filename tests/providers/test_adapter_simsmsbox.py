from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers.adapters import (
    BadCredentials,
    NoNumbers,
    OutcomeUnknown,
    Transient,
    Unsupported,
    UpstreamNoBalance,
    UpstreamRejected,
    UpstreamStatus,
    adapter_for,
)
from tests.factories import ProviderFactory
from tests.providers.fakes import as_json, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(fake_simsmsbox):
    return ProviderFactory(
        protocol="simsmsbox",
        base_url=fake_simsmsbox.url,
        settings={"card_kind": "physical"},
        timeout=Decimal("5"),  # ample on a busy machine; timeout tests set their own
    )


def test_buy_posts_iso_country_and_returns_order(provider, fake_simsmsbox, tg, usa):
    bought = adapter_for(provider).buy(service=tg, country=usa)

    assert (bought.upstream_id, bought.phone, bought.cost) == ("19", "12025550123", Decimal("0.60"))
    request = fake_simsmsbox.requests[-1]
    assert request.headers["X-API-Key"] == "upstream-secret"
    assert request.json() == {
        "service": "tg",
        "country": "US",
        "rentDays": 1,
        "cardKind": "physical",
    }


def test_market_keeps_the_cheapest_in_stock_line_per_service(provider, fake_simsmsbox):
    quotes = {(q.service_code, q.country_id): q for q in adapter_for(provider).fetch_offers()}

    assert (quotes[("tg", 187)].cost, quotes[("tg", 187)].stock) == (Decimal("0.60"), 8)
    assert quotes[("wa", 187)].stock == 0
    assert quotes[("tg", 16)].cost == Decimal("0.90")
    assert len(quotes) == 3  # XX is not in our catalog
    market_calls = [r for r in fake_simsmsbox.requests if r.path.endswith("/market")]
    assert {r.params["country"] for r in market_calls} == {"US", "GB"}
    assert all(r.params["cardKind"] == "physical" for r in market_calls)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (as_json({"code": 400, "message": "no available platform"}, status=400), NoNumbers),
        (as_json({"success": False, "message": "Insufficient balance"}), UpstreamNoBalance),
        (as_json({"code": 401, "message": "invalid api key"}, status=401), BadCredentials),
        (as_json({"code": 403, "message": "forbidden"}, status=403), BadCredentials),
        (as_json({"code": 400, "message": "invalid parameters"}, status=400), UpstreamRejected),
        (as_json({"message": "slow down"}, status=429), Transient),
        (as_json({"message": "maintenance"}, status=503), Transient),
        (as_json({"message": "boom"}, status=500), OutcomeUnknown),
        (text("<html>Bad gateway</html>", status=502), OutcomeUnknown),
        (text("not json"), OutcomeUnknown),
        (as_json({"code": 0, "data": {"orderId": 5}}), OutcomeUnknown),
    ],
)
def test_buy_errors_are_typed(provider, fake_simsmsbox, tg, usa, answer, error):
    fake_simsmsbox.respond_next(answer)

    with pytest.raises(error):
        adapter_for(provider).buy(service=tg, country=usa)


def test_timeout_is_outcome_unknown_for_buy_and_transient_for_reads(
    provider, fake_simsmsbox, tg, usa
):
    provider.timeout = Decimal("0.2")
    fake_simsmsbox.delay = 1.0

    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).buy(service=tg, country=usa)
    with pytest.raises(Transient):
        adapter_for(provider).status(upstream_id="19")


def test_read_errors(provider, fake_simsmsbox):
    fake_simsmsbox.respond_next(as_json({"message": "boom"}, status=500))
    with pytest.raises(Transient):
        adapter_for(provider).balance()
    fake_simsmsbox.respond_next(text("garbage"))
    with pytest.raises(Transient):
        adapter_for(provider).fetch_offers()
    with pytest.raises(UpstreamRejected):
        adapter_for(provider).status(upstream_id="404")


def test_status_and_messages(provider, fake_simsmsbox, tg, usa):
    adapter = adapter_for(provider)
    upstream_id = adapter.buy(service=tg, country=usa).upstream_id
    assert adapter.status(upstream_id=upstream_id).state == UpstreamStatus.WAITING

    fake_simsmsbox.deliver(int(upstream_id), "Telegram code 48213", "48213")
    status = adapter.status(upstream_id=upstream_id)

    assert (status.state, status.code, status.text) == ("received", "48213", "Telegram code 48213")
    assert status.messages[0].received_at == datetime(2030, 1, 1, 10, tzinfo=UTC)
    fake_simsmsbox.orders[int(upstream_id)]["status"] = "expired"
    assert adapter.status(upstream_id=upstream_id).state == UpstreamStatus.CANCELLED


def test_cancel_is_unsupported_finish_and_resend_are_no_ops(provider, tg, usa):
    adapter = adapter_for(provider)
    upstream_id = adapter.buy(service=tg, country=usa).upstream_id

    with pytest.raises(Unsupported):
        adapter.cancel(upstream_id=upstream_id)
    adapter.finish(upstream_id=upstream_id)
    adapter.request_another_sms(upstream_id=upstream_id)


def test_rent_renew_and_messages(provider, fake_simsmsbox, tg, usa):
    adapter = adapter_for(provider)

    rented = adapter.rent(service=tg, country=usa, hours=24 * 7)
    assert fake_simsmsbox.requests[-1].json()["rentDays"] == 7
    assert rented.ends_at == datetime(2030, 1, 2, tzinfo=UTC)

    extended = adapter.rent_extend(upstream_id=rented.upstream_id, hours=24 * 7)
    assert fake_simsmsbox.requests[-1].json() == {"days": 7}
    assert extended.ends_at == datetime(2030, 1, 9, tzinfo=UTC)

    fake_simsmsbox.deliver(int(rented.upstream_id), "Your code 1234", "1234")
    [message] = adapter.rent_messages(upstream_id=rented.upstream_id)
    assert (message.code, message.sender) == ("1234", "Telegram")


def test_balance(provider):
    assert adapter_for(provider).balance() == Decimal("42.10")


def test_wrong_key(provider, tg, usa):
    provider.api_key = "nope"

    with pytest.raises(BadCredentials):
        adapter_for(provider).balance()
