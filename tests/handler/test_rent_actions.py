"""Long-term rentals are not sold yet: every rent action answers the protocol's own error."""

import pytest

pytestmark = pytest.mark.django_db


def _error(body) -> str:
    assert body["status"] == "error", body
    return body["message"]


def test_rent_services_are_out_of_stock(handler):
    assert _error(handler.json("getRentServicesAndCountries", time="4")) == "OUT_OF_STOCK"


def test_rent_number(handler):
    assert _error(handler.json("getRentNumber", service="tg", time="4")) == "NO_NUMBERS"
    assert _error(handler.json("getRentNumber")) == "BAD_SERVICE"


@pytest.mark.parametrize(
    "action", ["getRentStatus", "continueRentNumber", "getContinueRentPriceNumber"]
)
def test_rent_by_id(handler, action):
    assert _error(handler.json(action)) == "NO_ID_RENT"
    assert _error(handler.json(action, id="123")) == "INVALID_PHONE"


def test_set_rent_status(handler):
    assert _error(handler.json("setRentStatus", id="123", status="1")) == "INVALID_PHONE"
    assert _error(handler.json("setRentStatus", id="123", status="9")) == "INCORECT_STATUS"
    assert _error(handler.json("setRentStatus")) == "NO_ID_RENT"


def test_get_rent_status_with_a_status_is_set_rent_status(handler):
    assert _error(handler.json("getRentStatus", id="123", status="7")) == "INCORECT_STATUS"


def test_rent_list(handler):
    assert _error(handler.json("getRentList")) == "NO_NUMBERS"
