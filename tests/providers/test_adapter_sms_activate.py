from datetime import UTC, datetime
from decimal import Decimal

import pytest

from providers.adapters import (
    BadCredentials,
    NoNumbers,
    OutcomeUnknown,
    Transient,
    UpstreamNoBalance,
    UpstreamRejected,
    UpstreamStatus,
    adapter_for,
)
from providers.models import Country, Service
from tests.factories import ProviderFactory
from tests.providers.fakes import as_json, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(fake_sms_activate):
    return ProviderFactory(
        protocol="sms_activate",
        base_url=fake_sms_activate.handler_url,
        extra_params={"pool": "7", "setting": "smspool"},
        timeout=Decimal("0.5"),
    )


@pytest.fixture
def tg():
    return Service.objects.get(code="tg")


@pytest.fixture
def usa():
    return Country.objects.get(sms_activate_id=187)


def test_buy_v2_returns_id_phone_and_cost_and_sends_extra_params(
    provider, fake_sms_activate, tg, usa
):
    bought = adapter_for(provider).buy(service=tg, country=usa, max_cost=Decimal("0.5"))

    assert bought.upstream_id == "635468022"
    assert bought.phone == "79995468022"
    assert bought.cost == Decimal("12.5")
    sent = fake_sms_activate.requests[-1].params
    assert sent["action"] == "getNumberV2"
    assert sent["service"] == "tg" and sent["country"] == "187" and sent["maxPrice"] == "0.50"
    assert sent["pool"] == "7" and sent["setting"] == "smspool"
    assert sent["api_key"] == "upstream-secret"


def test_buy_with_get_number_and_code_mappings(provider, fake_sms_activate, tg, usa):
    provider.settings = {"buy_action": "getNumber"}
    provider.service_codes = {"tg": "telegram"}
    provider.country_codes = {"187": "12"}

    bought = adapter_for(provider).buy(service=tg, country=usa)

    assert (bought.upstream_id, bought.phone, bought.cost) == ("635468022", "79995468022", None)
    sent = fake_sms_activate.requests[-1].params
    assert (sent["action"], sent["service"], sent["country"]) == ("getNumber", "telegram", "12")


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("NO_NUMBERS", NoNumbers),
        ("WRONG_MAX_PRICE:1.50", NoNumbers),
        ("BAD_SERVICE", NoNumbers),
        ("BAD_COUNTRY", NoNumbers),
        ("NO_BALANCE", UpstreamNoBalance),
        ("BAD_KEY", BadCredentials),
        ("BANNED:2024-1-1 10-00-00", BadCredentials),
        ("CHANNELS_LIMIT", BadCredentials),
        ("ERROR_SQL", Transient),
        ("WRONG_EXCEPTION_PHONE", UpstreamRejected),
        ("ORDER_ALREADY_EXISTS", UpstreamRejected),
    ],
)
@pytest.mark.parametrize("action", ["getNumber", "getNumberV2"])
def test_buy_error_tokens_are_typed(provider, fake_sms_activate, tg, usa, token, error, action):
    provider.settings = {"buy_action": action}
    fake_sms_activate.respond_next(text(token))

    with pytest.raises(error):
        adapter_for(provider).buy(service=tg, country=usa)


def test_buy_falls_back_to_get_number_where_v2_is_unknown(provider, fake_sms_activate, tg, usa):
    fake_sms_activate.respond_next(text("BAD_ACTION"))

    bought = adapter_for(provider).buy(service=tg, country=usa)

    assert (bought.upstream_id, bought.cost) == ("635468022", None)
    assert [r.params["action"] for r in fake_sms_activate.requests] == ["getNumberV2", "getNumber"]


def test_buy_bad_action_of_the_classic_request_is_a_rejection(provider, fake_sms_activate, tg, usa):
    provider.settings = {"buy_action": "getNumber"}
    fake_sms_activate.respond_next(text("BAD_ACTION"))

    with pytest.raises(UpstreamRejected):
        adapter_for(provider).buy(service=tg, country=usa)


@pytest.mark.parametrize(
    "answer",
    [
        text("ACCESS_NUMBER:123"),
        text("<html>oops</html>"),
        text("ACCESS_NUMBER:abc:"),
        as_json({"activationId": 5}),
        as_json(["x"]),
    ],
)
def test_buy_malformed_answer_is_outcome_unknown(provider, fake_sms_activate, tg, usa, answer):
    provider.settings = {
        "buy_action": "getNumber" if answer.body.startswith("ACCESS") else "getNumberV2"
    }
    fake_sms_activate.respond_next(answer)

    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).buy(service=tg, country=usa)


def test_buy_http_500_is_outcome_unknown_but_503_is_transient(provider, fake_sms_activate, tg, usa):
    fake_sms_activate.respond_next(text("Internal Server Error", status=500))
    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).buy(service=tg, country=usa)

    fake_sms_activate.respond_next(text("Service Unavailable", status=503))
    with pytest.raises(Transient):
        adapter_for(provider).buy(service=tg, country=usa)


def test_timeout_is_outcome_unknown_for_buy_and_transient_for_reads(
    provider, fake_sms_activate, tg, usa
):
    provider.timeout = Decimal("0.2")
    fake_sms_activate.delay = 1.0

    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).buy(service=tg, country=usa)
    with pytest.raises(Transient):
        adapter_for(provider).status(upstream_id="1")
    with pytest.raises(Transient):
        adapter_for(provider).balance()


def test_connection_refused_is_transient_even_for_buy(provider, fake_sms_activate, tg, usa):
    fake_sms_activate.stop()

    with pytest.raises(Transient):
        adapter_for(provider).buy(service=tg, country=usa)


def test_status_follows_the_activation(provider, fake_sms_activate, tg, usa):
    adapter = adapter_for(provider)
    bought = adapter.buy(service=tg, country=usa)
    upstream_id = bought.upstream_id

    assert adapter.status(upstream_id=upstream_id).state == UpstreamStatus.WAITING
    fake_sms_activate.deliver(int(upstream_id), "123456")
    status = adapter.status(upstream_id=upstream_id)
    assert (status.state, status.code) == (UpstreamStatus.RECEIVED, "123456")
    assert status.messages[0].code == "123456"

    adapter.request_another_sms(upstream_id=upstream_id)
    status = adapter.status(upstream_id=upstream_id)
    assert (status.state, status.code) == (UpstreamStatus.WAITING, "123456")

    adapter.finish(upstream_id=upstream_id)
    assert fake_sms_activate.activations[int(upstream_id)]["status"] == "done"


def test_cancel_and_unknown_activation(provider, fake_sms_activate, tg, usa):
    adapter = adapter_for(provider)
    upstream_id = adapter.buy(service=tg, country=usa).upstream_id

    adapter.cancel(upstream_id=upstream_id)
    assert adapter.status(upstream_id=upstream_id).state == UpstreamStatus.CANCELLED

    with pytest.raises(UpstreamRejected) as caught:
        adapter.status(upstream_id="1")
    assert caught.value.extra["token"] == "NO_ACTIVATION"
    fake_sms_activate.respond_next(text("EARLY_CANCEL_DENIED"))
    with pytest.raises(UpstreamRejected) as caught:
        adapter.cancel(upstream_id=upstream_id)
    assert caught.value.extra["token"] == "EARLY_CANCEL_DENIED"


@pytest.mark.parametrize("body", ["STATUS_WHATEVER", "", "{}"])
def test_status_malformed_is_transient(provider, fake_sms_activate, body):
    fake_sms_activate.respond_next(text(body))

    with pytest.raises(Transient):
        adapter_for(provider).status(upstream_id="5")


def test_balance(provider, fake_sms_activate):
    assert adapter_for(provider).balance() == Decimal("12.50")

    fake_sms_activate.respond_next(text("ACCESS_BALANCE:lots"))
    with pytest.raises(Transient):
        adapter_for(provider).balance()
    fake_sms_activate.respond_next(text("BAD_KEY"))
    with pytest.raises(BadCredentials):
        adapter_for(provider).balance()


def test_wrong_key_is_bad_credentials(provider, tg, usa):
    provider.api_key = "wrong"

    with pytest.raises(BadCredentials):
        adapter_for(provider).buy(service=tg, country=usa)


def test_fetch_offers_maps_countries_and_skips_unknown(provider):
    quotes = adapter_for(provider).fetch_offers()

    got = {(q.service_code, q.country_id): (q.cost, q.stock) for q in quotes}
    assert got[("tg", 187)] == (Decimal("0.5"), 12)
    assert got[("wa", 187)] == (Decimal("1.25"), 0)
    assert got[("tg", 0)] == (Decimal("0.2"), 100)
    assert not any(q.country_id == 9999 for q in quotes)


def test_fetch_offers_malformed_and_error(provider, fake_sms_activate):
    fake_sms_activate.respond_next(text("not json"))
    with pytest.raises(Transient):
        adapter_for(provider).fetch_offers()
    fake_sms_activate.respond_next(text("BAD_KEY"))
    with pytest.raises(BadCredentials):
        adapter_for(provider).fetch_offers()


def test_rent_lifecycle(provider, fake_sms_activate, tg, usa):
    adapter = adapter_for(provider)

    rented = adapter.rent(service=tg, country=usa, hours=4)
    assert rented.phone == "79959707564"
    assert rented.ends_at == datetime(2030, 1, 31, 12, 1, 52, tzinfo=UTC)
    assert adapter.rent_messages(upstream_id=rented.upstream_id) == []

    fake_sms_activate.rents[int(rented.upstream_id)]["sms"].append(
        {
            "phoneFrom": "Telegram",
            "text": "code 5555",
            "service": "tg",
            "date": "2030-01-30 14:31:58",
        }
    )
    [message] = adapter.rent_messages(upstream_id=rented.upstream_id)
    assert (message.text, message.sender) == ("code 5555", "Telegram")
    assert message.received_at == datetime(2030, 1, 30, 14, 31, 58, tzinfo=UTC)

    extended = adapter.rent_extend(upstream_id=rented.upstream_id, hours=24)
    assert extended.ends_at == datetime(2030, 2, 1, 12, 1, 52, tzinfo=UTC)
    adapter.rent_finish(upstream_id=rented.upstream_id)
    adapter.rent_finish(upstream_id=rented.upstream_id)  # ALREADY_FINISH is done, not an error
    assert fake_sms_activate.rents[int(rented.upstream_id)]["status"] == "finished"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("NO_NUMBERS", NoNumbers),
        ("NO_BALANCE", UpstreamNoBalance),
        ("BAD_SERVICE", NoNumbers),
        ("ACCOUNT_INACTIVE", BadCredentials),
        ("CHANNELS_LIMIT", BadCredentials),
        ("SERVER_ERROR", Transient),
    ],
)
def test_rent_error_messages_are_typed(provider, fake_sms_activate, tg, usa, message, error):
    fake_sms_activate.respond_next(as_json({"status": "error", "message": message}))

    with pytest.raises(error):
        adapter_for(provider).rent(service=tg, country=usa, hours=4)


@pytest.mark.parametrize("message", ["NO_ID_RENT", "RENT_DIE", "INVALID_TIME", "MAX_HOURS_EXCEED"])
def test_rent_extend_refusals(provider, fake_sms_activate, message):
    fake_sms_activate.respond_next(
        as_json({"status": "error", "message": message, "info": {"max": 10}})
    )

    with pytest.raises(UpstreamRejected):
        adapter_for(provider).rent_extend(upstream_id="1", hours=4)


def test_rent_malformed_is_outcome_unknown(provider, fake_sms_activate, tg, usa):
    fake_sms_activate.respond_next(as_json({"status": "success", "phone": {"id": "x"}}))

    with pytest.raises(OutcomeUnknown):
        adapter_for(provider).rent(service=tg, country=usa, hours=4)


def test_active_activations(provider, fake_sms_activate, tg, usa):
    adapter = adapter_for(provider)
    assert adapter.active_activations() == []

    bought = adapter.buy(service=tg, country=usa)
    [active] = adapter.active_activations()

    assert (active.upstream_id, active.phone, active.service_code, active.country_id) == (
        bought.upstream_id,
        bought.phone,
        "tg",
        187,
    )
    assert active.started_at == datetime(2030, 1, 1, 10, tzinfo=UTC)
    fake_sms_activate.respond_next(as_json({"status": "success", "activeActivations": [{"x": 1}]}))
    with pytest.raises(Transient):
        adapter.active_activations()


def test_reuse_is_get_extra_activation(provider, fake_sms_activate, tg, usa):
    adapter = adapter_for(provider)
    bought = adapter.buy(service=tg, country=usa)
    with pytest.raises(UpstreamRejected):  # not finished yet: RENEW_ACTIVATION_NOT_AVAILABLE
        adapter.reuse(upstream_id=bought.upstream_id)
    adapter.finish(upstream_id=bought.upstream_id)

    again = adapter.reuse(upstream_id=bought.upstream_id)

    assert again.phone == bought.phone and again.upstream_id != bought.upstream_id
    fake_sms_activate.respond_next(text("NO_BALANCE"))
    with pytest.raises(UpstreamNoBalance):
        adapter.reuse(upstream_id=bought.upstream_id)
    fake_sms_activate.respond_next(text("garbage"))
    with pytest.raises(OutcomeUnknown):
        adapter.reuse(upstream_id=bought.upstream_id)
