from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from providers.adapters import (
    BadCredentials,
    NoNumbers,
    OutcomeUnknown,
    Transient,
    UpstreamError,
    UpstreamNoBalance,
    UpstreamRejected,
    UpstreamStatus,
    adapter_for,
)
from providers.adapters import sms_activate as sms_activate_module
from tests.factories import ProviderFactory
from tests.providers.fakes import as_json, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(fake_sms_activate):
    return ProviderFactory(
        protocol="sms_activate",
        base_url=fake_sms_activate.handler_url,
        extra_params={"pool": "7", "setting": "smspool"},
        timeout=Decimal("5"),  # ample on a busy machine; timeout tests set their own
    )


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


# --- error tokens -----------------------------------------------------------------------------
# What each error token of the protocol means for us, written from PROTOCOLS.md §1 and seed 003:
# the account cannot buy (credentials, blocked, inactive), it has no money, this upstream has
# nothing to sell for the request (fail over), the server failed (retry), or a definite refusal
# of this particular request (an id, a status, a time).
EXPECTED = {
    "BAD_KEY": BadCredentials,  # invalid API key
    "BANNED": BadCredentials,  # BANNED:'YYYY-m-d H-i-s', the account is blocked until then
    "CHANNELS_LIMIT": BadCredentials,  # account blocked
    "ACCOUNT_INACTIVE": BadCredentials,  # the account is not active
    "NO_BALANCE": UpstreamNoBalance,  # no money in the account
    "NO_BALANCE_FORWARD": UpstreamNoBalance,  # not enough funds to buy call forwarding
    "NO_NUMBERS": NoNumbers,  # no numbers
    "OUT_OF_STOCK": NoNumbers,  # numbers for that country are unavailable
    "WRONG_MAX_PRICE": NoNumbers,  # WRONG_MAX_PRICE:$min, nothing within our max price
    "BAD_SERVICE": NoNumbers,  # incorrect service name: not sold here
    "WRONG_SERVICE": NoNumbers,  # incorrect service
    "BAD_COUNTRY": NoNumbers,  # not sold in that country here
    "ERROR_SQL": Transient,  # sql-server error
    "SERVER_ERROR": Transient,  # server error
    "BAD_ACTION": UpstreamRejected,  # incorrect action
    "BAD_STATUS": UpstreamRejected,  # setStatus: incorrect status
    "EARLY_CANCEL_DENIED": UpstreamRejected,  # no cancel within the first 2 minutes
    "NO_ACTIVATION": UpstreamRejected,  # activation id does not exist
    "WRONG_ACTIVATION_ID": UpstreamRejected,  # invalid id, or not a number
    "WRONG_EXCEPTION_PHONE": UpstreamRejected,  # incorrect exclusion prefixes
    "ORDER_ALREADY_EXISTS": UpstreamRejected,  # getNumber with a used orderId
    "NO_ACTIVATIONS": UpstreamRejected,  # getActiveActivations: none (an empty list to us)
    "RENEW_ACTIVATION_NOT_AVAILABLE": UpstreamRejected,  # no additional activation
    "NEW_ACTIVATION_IMPOSSIBLE": UpstreamRejected,  # impossible to make additional activation
    "SIM_OFFLINE": UpstreamRejected,  # SIM card offline
    "NO_ID_RENT": UpstreamRejected,  # rent id missing
    "INVALID_PHONE": UpstreamRejected,  # the number is rented not by you (invalid rent id)
    "STATUS_FINISH": UpstreamRejected,  # getRentStatus: rent paid and completed
    "STATUS_CANCEL": UpstreamRejected,  # getRentStatus: rent cancelled with a refund
    "STATUS_REVOKE": UpstreamRejected,  # getRentStatus: number blocked, funds returned
    "STATUS_WAIT_CODE": UpstreamRejected,  # getRentStatus: no SMS yet (an empty list to us)
    "INCORECT_STATUS": UpstreamRejected,  # (sic) setRentStatus: missing or wrong status
    "CANT_CANCEL": UpstreamRejected,  # the lease cannot be cancelled (more than 20 min)
    "ALREADY_FINISH": UpstreamRejected,  # the lease is already completed
    "ALREADY_CANCEL": UpstreamRejected,  # the lease is already cancelled
    "INVALID_TIME": UpstreamRejected,  # hours not within 4..1344
    "MAX_HOURS_EXCEED": UpstreamRejected,  # the maximum time was exceeded
    "RENT_DIE": UpstreamRejected,  # the number expired: cannot be extended
}
# The tokens the documentation lists per action (with the account-wide BAD_KEY and ERROR_SQL).
BUY_TOKENS = [
    "NO_NUMBERS",
    "NO_BALANCE",
    "NO_BALANCE_FORWARD",
    "BAD_SERVICE",
    "WRONG_SERVICE",
    "BAD_COUNTRY",
    "OUT_OF_STOCK",
    "WRONG_MAX_PRICE:1.50",
    "WRONG_EXCEPTION_PHONE",
    "ORDER_ALREADY_EXISTS",
    "CHANNELS_LIMIT",
    "ACCOUNT_INACTIVE",
    "BANNED:2024-1-1 10-00-00",
    "BAD_KEY",
    "ERROR_SQL",
    "SERVER_ERROR",
]
SET_STATUS_TOKENS = [
    "EARLY_CANCEL_DENIED",
    "NO_ACTIVATION",
    "BAD_STATUS",
    "WRONG_ACTIVATION_ID",
    "BAD_ACTION",
    "BAD_KEY",
    "ERROR_SQL",
]
GET_STATUS_TOKENS = ["NO_ACTIVATION", "WRONG_ACTIVATION_ID", "BAD_KEY", "ERROR_SQL"]
REUSE_TOKENS = [
    "RENEW_ACTIVATION_NOT_AVAILABLE",
    "NEW_ACTIVATION_IMPOSSIBLE",
    "SIM_OFFLINE",
    "WRONG_ACTIVATION_ID",
    "NO_BALANCE",
    "BAD_KEY",
    "ERROR_SQL",
]
RENT_TOKENS = [
    "BAD_SERVICE",
    "NO_BALANCE",
    "NO_NUMBERS",
    "OUT_OF_STOCK",
    "ACCOUNT_INACTIVE",
    "SERVER_ERROR",
    "CHANNELS_LIMIT",
]
RENT_STATUS_TOKENS = ["NO_ID_RENT", "INVALID_PHONE", "STATUS_FINISH", "STATUS_CANCEL"]
RENT_STATUS_TOKENS += ["STATUS_REVOKE", "SERVER_ERROR"]
SET_RENT_STATUS_TOKENS = ["NO_ID_RENT", "INCORECT_STATUS", "CANT_CANCEL", "INVALID_PHONE"]
SET_RENT_STATUS_TOKENS += ["SERVER_ERROR"]
CONTINUE_RENT_TOKENS = [
    "NO_ID_RENT",
    "INVALID_TIME",
    "MAX_HOURS_EXCEED",
    "INVALID_PHONE",
    "RENT_DIE",
    "NO_BALANCE",
    "CHANNELS_LIMIT",
    "SERVER_ERROR",
]


def assert_typed(call, token: str) -> None:
    """``call`` raises exactly the expected error class, naming the token."""
    name = token.split(":", 1)[0]
    with pytest.raises(UpstreamError) as caught:
        call()
    assert type(caught.value) is EXPECTED[name], (token, caught.value)
    assert caught.value.extra["token"] == name


def json_error(token: str):
    return as_json({"status": "error", "message": token, "info": {"max": 10}})


def test_every_token_the_adapter_maps_has_an_expected_meaning():
    mapped = set(sms_activate_module._TOKEN_ERRORS) | set(sms_activate_module._REJECTIONS)

    assert mapped - set(EXPECTED) == set()
    for name, error in EXPECTED.items():
        assert type(sms_activate_module.token_error(name)) is error, name


@pytest.mark.parametrize("token", BUY_TOKENS)
@pytest.mark.parametrize(
    ("action", "answer"),
    [("getNumber", text), ("getNumberV2", text), ("getNumberV2", json_error)],
)
def test_buy_error_tokens_are_typed(provider, fake_sms_activate, tg, usa, token, action, answer):
    provider.settings = {"buy_action": action}
    fake_sms_activate.respond_next(answer(token))

    assert_typed(lambda: adapter_for(provider).buy(service=tg, country=usa), token)


@pytest.mark.parametrize("token", SET_STATUS_TOKENS)
@pytest.mark.parametrize("operation", ["cancel", "finish", "request_another_sms"])
def test_set_status_error_tokens_are_typed(provider, fake_sms_activate, token, operation):
    fake_sms_activate.respond_next(text(token))

    assert_typed(lambda: getattr(adapter_for(provider), operation)(upstream_id="5"), token)
    assert fake_sms_activate.requests[-1].params["action"] == "setStatus"


@pytest.mark.parametrize("token", GET_STATUS_TOKENS)
def test_get_status_error_tokens_are_typed(provider, fake_sms_activate, token):
    fake_sms_activate.respond_next(text(token))

    assert_typed(lambda: adapter_for(provider).status(upstream_id="5"), token)


@pytest.mark.parametrize("token", REUSE_TOKENS)
def test_extra_activation_error_tokens_are_typed(provider, fake_sms_activate, token):
    fake_sms_activate.respond_next(text(token))

    assert_typed(lambda: adapter_for(provider).reuse(upstream_id="5"), token)


@pytest.mark.parametrize("token", RENT_TOKENS)
def test_rent_error_messages_are_typed(provider, fake_sms_activate, tg, usa, token):
    fake_sms_activate.respond_next(json_error(token))

    assert_typed(lambda: adapter_for(provider).rent(service=tg, country=usa, hours=4), token)


@pytest.mark.parametrize("token", RENT_STATUS_TOKENS)
def test_rent_status_error_messages_are_typed(provider, fake_sms_activate, token):
    fake_sms_activate.respond_next(json_error(token))

    assert_typed(lambda: adapter_for(provider).rent_messages(upstream_id="5"), token)


def test_rent_status_wait_code_is_no_message_yet(provider, fake_sms_activate):
    fake_sms_activate.respond_next(json_error("STATUS_WAIT_CODE"))

    assert adapter_for(provider).rent_messages(upstream_id="5") == []


@pytest.mark.parametrize(
    ("operation", "done", "refused"),
    [
        ("rent_finish", "ALREADY_FINISH", "ALREADY_CANCEL"),
        ("rent_cancel", "ALREADY_CANCEL", "ALREADY_FINISH"),
    ],
)
@pytest.mark.parametrize("token", SET_RENT_STATUS_TOKENS)
def test_set_rent_status_error_messages_are_typed(
    provider, fake_sms_activate, operation, done, refused, token
):
    adapter = adapter_for(provider)
    for answer in (token, refused):
        fake_sms_activate.respond_next(json_error(answer))
        assert_typed(lambda: getattr(adapter, operation)(upstream_id="5"), answer)

    fake_sms_activate.respond_next(json_error(done))
    assert getattr(adapter, operation)(upstream_id="5") is None  # already so: done


@pytest.mark.parametrize("token", CONTINUE_RENT_TOKENS)
def test_rent_extend_error_messages_are_typed(provider, fake_sms_activate, token):
    fake_sms_activate.respond_next(json_error(token))

    assert_typed(lambda: adapter_for(provider).rent_extend(upstream_id="5", hours=4), token)


def test_a_bare_bad_key_answers_a_json_action_too(provider, fake_sms_activate, tg, usa):
    fake_sms_activate.respond_next(text("BAD_KEY"))

    assert_typed(lambda: adapter_for(provider).rent(service=tg, country=usa, hours=4), "BAD_KEY")


@pytest.mark.parametrize("status", [500, 502, 504])
@pytest.mark.parametrize(
    "read",
    [
        lambda a: a.status(upstream_id="5"),
        lambda a: a.balance(),
        lambda a: a.fetch_offers(),
        lambda a: a.active_activations(),
        lambda a: a.rent_messages(upstream_id="5"),
    ],
    ids=["getStatus", "getBalance", "getPrices", "getActiveActivations", "getRentStatus"],
)
def test_http_5xx_on_a_read_is_transient(provider, fake_sms_activate, status, read):
    fake_sms_activate.respond_next(text("Internal Server Error", status=status))

    with pytest.raises(Transient):
        read(adapter_for(provider))


def test_max_price_is_rounded_up_to_cents(provider, fake_sms_activate, tg, usa):
    for max_cost, sent in [
        (Decimal("0.1234"), "0.13"),
        (Decimal("0.1201"), "0.13"),
        (Decimal("0.12"), "0.12"),
        (Decimal("0.5"), "0.50"),
        (Decimal("7"), "7.00"),
    ]:
        adapter_for(provider).buy(service=tg, country=usa, max_cost=max_cost)
        assert fake_sms_activate.requests[-1].params["maxPrice"] == sent, max_cost


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
    # the fake reports the time of the sale (whole seconds, UTC) and its cost
    assert abs(active.started_at - datetime.now(UTC)) < timedelta(seconds=5)
    assert active.cost == Decimal("12.50")
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
