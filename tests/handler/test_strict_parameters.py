"""Hostile handler parameters are refused with the action's token: never ``ERROR_SQL`` (the
protocol's 500), never a database round trip with garbage."""

import pytest

from tests.handler.conftest import fund

# (The transport drops NUL characters from every value, so a lone NUL is an absent value.)
HOSTILE = ["²", "٣", "\uff11", "1\x00²", "1" * 10_000, "1e309", "-0", "NaN", "99999999999999999999"]


@pytest.mark.parametrize("raw", HOSTILE)
@pytest.mark.parametrize("name", ["start", "end", "offset", "limit"])
def test_get_history_refuses_hostile_parameters(handler, name, raw):
    body = handler.json("getHistory", **{name: raw})
    assert body["status"] == "error" and body["message"] in ("WRONG_DATE", "BAD_DATA"), body


@pytest.mark.parametrize(
    ("name", "raw"),
    [("start", "253402300800"), ("end", "999999999999"), ("offset", "999999999999999999")],
)
def test_get_history_refuses_values_out_of_range(handler, name, raw):
    body = handler.json("getHistory", **{name: raw})
    assert body["status"] == "error" and body["message"] != "ERROR_SQL", body


def test_get_history_still_answers_good_parameters(handler):
    body = handler.json("getHistory", start="0", end="1900000000", offset="0", limit="100")
    assert body == {"status": "success", "data": []}


@pytest.mark.parametrize("raw", HOSTILE)
@pytest.mark.parametrize(
    ("action", "name", "tokens"),
    [
        ("getStatus", "id", {"WRONG_ACTIVATION_ID"}),
        ("setStatus", "id", {"WRONG_ACTIVATION_ID", "BAD_STATUS"}),
        ("getFullSms", "id", {"WRONG_ACTIVATION_ID"}),
        ("getNumber", "country", {"BAD_COUNTRY", "BAD_SERVICE"}),
        ("getNumber", "maxPrice", {"WRONG_MAX_PRICE"}),
        ("getPrices", "country", {"BAD_COUNTRY"}),
    ],
)
def test_text_actions_refuse_hostile_parameters_with_their_token(
    handler, customer, offer, action, name, tokens, raw
):
    fund(customer)
    params = {"service": "tg", "country": "187", "status": "8", name: raw}
    response = handler(action, **params)
    answer = response.content.decode()
    if response["Content-Type"] == "application/json":
        answer = response.json().get("message", answer)
    assert answer in tokens, (action, name, raw, answer[:200])


@pytest.mark.parametrize("raw", HOSTILE)
def test_rent_actions_refuse_hostile_parameters(handler, raw):
    assert handler.json("getRentStatus", id=raw)["message"] in ("INVALID_PHONE", "NO_ID_RENT")
    body = handler.json("getRentServicesAndCountries", time=raw)
    assert body.get("message") == "INVALID_TIME", body
