from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers import breaker
from providers.adapters import (
    BadCredentials,
    NoNumbers,
    OutcomeUnknown,
    Transient,
    Unsupported,
    UpstreamError,
    UpstreamNoBalance,
    UpstreamRejected,
    UpstreamStatus,
    adapter_for,
)
from providers.adapters import simple_get as simple_get_module
from providers.models import Country, Offer, PurchaseAttempt
from providers.router import purchase_route
from providers.services import offers_sync
from tests.factories import OfferFactory, ProviderFactory
from tests.providers.fakes import as_json, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(fake_simple_get):
    return ProviderFactory(
        protocol="simple_get",
        base_url=fake_simple_get.url,
        service_codes={"tg": "17"},
        settings={
            "offers": [
                {"service": "tg", "country": "UK", "cost": "0.45", "stock": 3},
                {"service": "tg", "country": "Atlantis", "cost": "1", "stock": 1},
            ]
        },
        timeout=Decimal("5"),  # ample on a busy machine; timeout tests set their own
    )


@pytest.fixture
def uk():
    return Country.objects.get(sms_activate_id=16)


def test_buy_sends_service_id_and_country_and_returns_international_phone(
    provider, fake_simple_get, tg, uk
):
    bought = adapter_for(provider).buy(service=tg, country=uk)

    assert (bought.upstream_id, bought.phone) == ("1001", "447684563067")
    params = fake_simple_get.requests[-1].params
    assert (params["serviceId"], params["country"], params["key"]) == (
        "17",
        "UK",
        "upstream-secret",
    )


# --- error tokens -----------------------------------------------------------------------------
# What each answer of seed 004 means for us (PROTOCOLS.md §4), written from the seed.
EXPECTED = {
    "NO_PHONE_AVAILABLE": NoNumbers,  # makeorder: no phone for the service
    "NO_STOCK": NoNumbers,  # rental/new: no phone for the country
    "NO_BALANCE": UpstreamNoBalance,  # not enough balance for this order
    # one open order at a time: no sale from this provider until it closes; try elsewhere,
    # without counting it against the provider's health (below)
    "ORDER_ALREADY_OPEN": UpstreamRejected,
    "ORDER_ALREADY_COMPLETED": UpstreamRejected,  # cancel/skip after the SMS came
    "NUMBER_OFFLINE": UpstreamRejected,  # reuse: the number is gone
    "INVALID_PACKAGE": UpstreamRejected,  # rental new/extend: not a package
    "NUMBER_EXPIRED": UpstreamRejected,  # rental/extend: the contract expired
    "INVALID_KEY": BadCredentials,  # not in the seed: what such servers answer a wrong key
}
BUY_TOKENS = ["NO_PHONE_AVAILABLE", "ORDER_ALREADY_OPEN_991", "NO_BALANCE", "INVALID_KEY"]
REUSE_TOKENS = ["NUMBER_OFFLINE", "ORDER_ALREADY_OPEN_991", "NO_BALANCE", "INVALID_KEY"]
RENTAL_NEW_TOKENS = ["NO_STOCK", "NO_BALANCE", "INVALID_PACKAGE"]
RENTAL_EXTEND_TOKENS = ["NUMBER_EXPIRED", "NO_BALANCE", "INVALID_PACKAGE"]


def assert_typed(call, token: str) -> None:
    name = "ORDER_ALREADY_OPEN" if token.startswith("ORDER_ALREADY_OPEN_") else token
    with pytest.raises(UpstreamError) as caught:
        call()
    assert type(caught.value) is EXPECTED[name], (token, caught.value)
    assert caught.value.extra["token"] == name


def test_every_token_has_its_typed_error():
    for name, error in EXPECTED.items():
        token = "ORDER_ALREADY_OPEN_991" if name == "ORDER_ALREADY_OPEN" else name
        assert type(simple_get_module.token_error(token)) is error, name
    assert simple_get_module.token_error("ORDER_ALREADY_OPEN_991").extra["open_order"] == "991"


def test_an_order_already_open_fails_over_without_tripping_the_breaker(
    provider, fake_simple_get, tg, uk, settings
):
    """The seed's provider sells one order at a time: while one is open it answers
    ORDER_ALREADY_OPEN_{id}. That is no fault of the provider: the router buys elsewhere, the
    offer keeps its stock and the provider's circuit breaker stays closed."""
    settings.SMSBOX_BREAKER_FAILURES = 2
    offers_sync(provider=provider)
    other = OfferFactory(
        provider=ProviderFactory(settings={"sms_delay": None}),
        service=tg,
        country=uk,
        cost=Decimal("0.90"),
    )
    fake_simple_get.respond_always(text("ORDER_ALREADY_OPEN_991"))

    for _ in range(3):
        assert purchase_route(service=tg, country=uk).provider == other.provider

    attempts = PurchaseAttempt.objects.filter(provider=provider)
    assert list(attempts.values_list("outcome", flat=True)) == ["rejected"] * 3
    assert "ORDER_ALREADY_OPEN_991" in attempts.first().error  # which order is open
    assert breaker.breaker_state(provider.pk) == breaker.CLOSED
    assert Offer.objects.get(provider=provider, country=uk).stock == 3


@pytest.mark.parametrize("token", BUY_TOKENS)
def test_buy_error_tokens_are_typed(provider, fake_simple_get, tg, uk, token):
    fake_simple_get.respond_next(text(token))

    assert_typed(lambda: adapter_for(provider).buy(service=tg, country=uk), token)


@pytest.mark.parametrize("token", REUSE_TOKENS)
def test_reuse_error_tokens_are_typed(provider, fake_simple_get, token):
    fake_simple_get.respond_next(text(token))

    assert_typed(lambda: adapter_for(provider).reuse(upstream_id="5"), token)


@pytest.mark.parametrize("token", RENTAL_NEW_TOKENS)
@pytest.mark.parametrize("answer", [text, lambda t: as_json({"success": False, "message": t})])
def test_rental_new_error_tokens_are_typed(provider, fake_simple_get, uk, token, answer):
    fake_simple_get.respond_next(answer(token))

    assert_typed(lambda: adapter_for(provider).rent(service=None, country=uk, hours=24), token)


@pytest.mark.parametrize("token", RENTAL_EXTEND_TOKENS)
@pytest.mark.parametrize("answer", [text, lambda t: as_json({"success": False, "message": t})])
def test_rental_extend_error_tokens_are_typed(provider, fake_simple_get, token, answer):
    fake_simple_get.respond_next(answer(token))

    assert_typed(lambda: adapter_for(provider).rent_extend(upstream_id="5", hours=24), token)


@pytest.mark.parametrize("path", ["/api/cancelorder", "/api/skipnumber"])
def test_closing_a_completed_order_is_refused_and_an_expired_one_is_done(
    provider, fake_simple_get, path
):
    adapter = adapter_for(provider)
    close = adapter.cancel if path == "/api/cancelorder" else adapter.release_unwanted
    fake_simple_get.respond_next(text("ORDER_ALREADY_COMPLETED"))
    assert_typed(lambda: close(upstream_id="5"), "ORDER_ALREADY_COMPLETED")
    assert fake_simple_get.requests[-1].path == path

    fake_simple_get.respond_next(text("ORDER_ALREADY_EXPIRED"))
    assert close(upstream_id="5") is None


@pytest.mark.parametrize(
    "body", ["ORDER_ID_x_NUMBER_", "ORDER_ID_1_NUMBER_", "<html>", "order made", ""]
)
def test_buy_unreadable_answer_is_outcome_unknown(provider, fake_simple_get, tg, uk, body):
    fake_simple_get.respond_next(text(body))

    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).buy(service=tg, country=uk)


@pytest.mark.parametrize("upstream_id", ["abc", "", "12a", "1.5", "-3", "١٢"])
@pytest.mark.parametrize("operation", ["rent_messages", "rent_extend", "rent_finish"])
def test_a_rental_id_that_is_no_number_is_refused_without_a_call(
    provider, fake_simple_get, upstream_id, operation
):
    kwargs = {"hours": 24} if operation == "rent_extend" else {}

    with pytest.raises(UpstreamRejected) as caught:
        getattr(adapter_for(provider), operation)(upstream_id=upstream_id, **kwargs)

    assert caught.value.extra["token"] == "BAD_CONTRACT_ID"
    assert fake_simple_get.requests == []


def test_http_errors_and_timeout(provider, fake_simple_get, tg, uk):
    fake_simple_get.respond_next(text("oops", status=500))
    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).buy(service=tg, country=uk)
    fake_simple_get.respond_next(text("oops", status=500))
    with pytest.raises(Transient):
        adapter_for(provider).status(upstream_id="1")

    provider.timeout = Decimal("0.2")
    fake_simple_get.delay = 1.0
    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).buy(service=tg, country=uk)
    with pytest.raises(Transient):
        adapter_for(provider).balance()


def test_status_cancel_and_skip(provider, fake_simple_get, tg, uk):
    adapter = adapter_for(provider)
    upstream_id = adapter.buy(service=tg, country=uk).upstream_id
    assert adapter.status(upstream_id=upstream_id).state == UpstreamStatus.WAITING

    fake_simple_get.orders[int(upstream_id)]["sms"] = "Your Telegram code is 0183. Never share it."
    status = adapter.status(upstream_id=upstream_id)
    assert (status.state, status.code) == (UpstreamStatus.RECEIVED, "0183")
    assert status.text == "Your Telegram code is 0183. Never share it."
    with pytest.raises(UpstreamRejected):  # ORDER_ALREADY_COMPLETED
        adapter.cancel(upstream_id=upstream_id)

    other = adapter.buy(service=tg, country=uk).upstream_id
    adapter.release_unwanted(upstream_id=other)
    assert fake_simple_get.requests[-1].path == "/api/skipnumber"
    assert adapter.status(upstream_id=other).state == UpstreamStatus.CANCELLED
    adapter.cancel(upstream_id=other)  # ORDER_ALREADY_EXPIRED: it is gone, which is what we want

    with pytest.raises(Unsupported):
        adapter.request_another_sms(upstream_id=upstream_id)


def test_status_malformed_is_transient(provider, fake_simple_get):
    fake_simple_get.respond_next(text("weird answer"))

    with pytest.raises(Transient):
        adapter_for(provider).status(upstream_id="1")


def test_offers_come_from_settings(provider):
    [quote] = adapter_for(provider).fetch_offers()

    assert (quote.service_code, quote.country_id, quote.cost, quote.stock) == (
        "tg",
        16,
        Decimal("0.45"),
        3,
    )


def test_balance(provider, fake_simple_get):
    assert adapter_for(provider).balance() == Decimal("7.25")
    fake_simple_get.respond_next(text("INVALID_KEY"))
    with pytest.raises(BadCredentials):
        adapter_for(provider).balance()


def test_rental_lifecycle(provider, fake_simple_get, uk):
    adapter = adapter_for(provider)

    rented = adapter.rent(service=None, country=uk, hours=24 * 60)
    assert fake_simple_get.requests[-1].json()["package"] == "3m"
    assert rented.phone == "447684563067"
    assert rented.ends_at == datetime(2030, 6, 22, 12, 57, 3, tzinfo=UTC)

    fake_simple_get.contracts[int(rented.upstream_id)]["sms"].append(
        {
            "id": 1,
            "sender": "Uber",
            "body": "Your Uber code is 0183.",
            "receive_date": "2023-08-02T14:30:23.000000Z",
        }
    )
    [message] = adapter.rent_messages(upstream_id=rented.upstream_id)
    assert (message.sender, message.code, message.upstream_message_id) == ("Uber", "0183", "1")

    assert adapter.rent_extend(upstream_id=rented.upstream_id, hours=24 * 30).ends_at.month == 9
    adapter.rent_finish(upstream_id=rented.upstream_id)
    assert fake_simple_get.contracts[int(rented.upstream_id)]["auto_renew"] is False
    with pytest.raises(Unsupported):
        adapter.rent_cancel(upstream_id=rented.upstream_id)


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (text("NO_STOCK"), NoNumbers),
        (text("NO_BALANCE"), UpstreamNoBalance),
        (as_json({"success": False, "message": "NO_STOCK"}), NoNumbers),
        (as_json({"success": True, "contract_id": "abc"}), OutcomeUnknown),
        (text("<html>"), OutcomeUnknown),
    ],
)
def test_rental_errors(provider, fake_simple_get, uk, answer, error):
    fake_simple_get.respond_next(answer)

    with pytest.raises(error):
        adapter_for(provider).rent(service=None, country=uk, hours=24)


def test_extend_expired_contract_is_rejected(provider):
    with pytest.raises(UpstreamRejected):
        adapter_for(provider).rent_extend(upstream_id="5", hours=24)


def test_reuse_gives_the_same_number_again(provider, fake_simple_get, tg, uk, usa):
    adapter = adapter_for(provider)
    first = adapter.buy(service=tg, country=uk)

    again = adapter.reuse(upstream_id=first.upstream_id, country=uk)

    assert again.phone == first.phone and again.upstream_id != first.upstream_id
    assert fake_simple_get.requests[-1].params["orderId"] == first.upstream_id
    american = adapter.buy(service=tg, country=usa)
    assert adapter.reuse(upstream_id=american.upstream_id, country=usa).phone == "12025550123"
    provider.settings = {"country": "UK"}  # without the country: the setting's
    assert adapter_for(provider).reuse(upstream_id=first.upstream_id).phone == first.phone
    assert fake_simple_get.requests[-1].path == "/api/reuse"
    fake_simple_get.respond_next(text("NUMBER_OFFLINE"))
    with pytest.raises(UpstreamRejected):
        adapter.reuse(upstream_id=first.upstream_id)
