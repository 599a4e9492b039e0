"""Two real SMS-Activate client libraries from PyPI, unmodified except for their base URL,
against smsbox served on a real socket (pytest-django's ``live_server``)."""

import asyncio
from decimal import Decimal

import pytest
from aiosmsactivate import SmsActivate
from aiosmsactivate.exceptions import SmsActivateException
from aiosmsactivate.models import SetActivationStatusResponse
from aiosmsactivate.types import ActivationStatus, SetActivationStatus
from django.test import override_settings
from smsactivate.api import SMSActivateAPI

from providers.catalog import catalog_load
from rentals.models import Activation, Rental
from rentals.services import activation_receive_sms
from rentals.services.rentals import rental_plans_seed_demo, rental_receive_sms
from tests.factories import ApiKeyFactory, OfferFactory, UserFactory
from tests.handler.conftest import fund

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(live_server):
    catalog_load()  # a transactional test before this one may have emptied the tables
    user = UserFactory()
    fund(user, "10.00")
    OfferFactory(cost=Decimal("0.50"), stock=10)
    return ApiKeyFactory(user=user).raw_key, f"{live_server.url}/stubs/handler_api.php"


def deliver_sms(activation_id: int, code: str = "123456") -> None:
    """What an upstream push does: the SMS arrives for the activation's upstream order."""
    activation = Activation.objects.get(pk=activation_id)
    activation_receive_sms(
        provider=activation.provider,
        upstream_id=activation.upstream_id,
        text=f"Your Telegram code is {code}",
    )


def deliver_rent_sms(rent_id: int) -> None:
    rental_receive_sms(rental=Rental.objects.get(pk=rent_id), text="Code 5555", sender="Bank")


def official(raw_key: str, url: str) -> SMSActivateAPI:
    api = SMSActivateAPI(raw_key)
    api._SMSActivateAPI__api_url = url  # the base URL, the one thing changed
    return api


# --- smsactivate (the official module, requests, GET) ------------------------------------------


def test_official_client_get_number_flow_to_finish(setup):
    api = official(*setup)
    assert api.getBalance() == {"balance": "10.00"}
    bought = api.getNumber(service="tg", country=187)
    activation_id = bought["activation_id"]
    assert isinstance(activation_id, int) and bought["phone"] > 0
    assert api.setStatus(id=activation_id, status=1) == "ACCESS_READY"
    assert api.getStatus(id=activation_id) == "STATUS_WAIT_CODE"
    deliver_sms(activation_id)
    statuses = [api.getStatus(id=activation_id) for _ in range(3)]
    assert statuses[-1] == "STATUS_OK:123456"
    assert api.setStatus(id=activation_id, status=6) == "ACCESS_ACTIVATION"
    assert api.getBalance() == {"balance": "9.50"}


@override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
def test_official_client_get_number_v2_flow_to_cancel(setup):
    api = official(*setup)
    bought = api.getNumberV2(service="tg", country=187)
    assert bought["phoneNumber"].isdigit() and bought["currency"] == 840
    assert api.setStatus(id=bought["activationId"], status=1) == "ACCESS_READY"
    assert api.getStatus(id=bought["activationId"]) == "STATUS_WAIT_CODE"
    assert api.setStatus(id=bought["activationId"], status=8) == "ACCESS_CANCEL"
    # the module reads STATUS_CANCEL as "activation canceled" from its table of answers
    assert api.getStatus(id=bought["activationId"])["error"] == "STATUS_CANCEL"
    assert api.getBalance() == {"balance": "10.00"}


def test_official_client_errors_and_catalog(setup):
    api = official(*setup)
    assert api.getNumber(service="nope", country=187)["error"] == "BAD_SERVICE"
    assert api.getStatus(id=999999)["error"] == "NO_ACTIVATION"
    assert api.getPrices(service="tg", country=187) == {"187": {"tg": {"cost": 0.5, "count": 10}}}
    assert api.getNumbersStatus(country=187)["tg_0"] == "10"
    assert api.getCountries()["187"]["eng"] == "USA"
    assert "0" in api.getOperators(country=0)["countryOperators"]
    bad = official("x" * 40, setup[1])
    assert bad.getBalance()["error"] == "BAD_KEY"


def test_official_client_rent_flow(setup):
    rental_plans_seed_demo(country_ids=[187])
    api = official(*setup)
    offer = api.getRentServicesAndCountries(country=187, time=4)
    assert offer["services"]["tg"]["quant"] == 10
    rented = api.getRentNumber(service="tg", time=4, country=187)
    assert rented["status"] == "success"
    rent_id = rented["phone"]["id"]
    assert api.getRentStatus(id=rent_id) == {"status": "error", "message": "STATUS_WAIT_CODE"}
    deliver_rent_sms(rent_id)
    status = api.getRentStatus(id=rent_id)
    assert status["quantity"] == "1" and status["values"]["0"]["text"] == "Code 5555"
    assert api.getRentList()["values"]["0"]["id"] == str(rent_id)
    continued = api.continueRentNumber(id=rent_id, time=4)
    assert continued["status"] == "success" and continued["phone"]["id"] == rent_id
    assert api.setRentStatus(id=rent_id, status=1) == {"status": "success"}
    assert api.getRentStatus(id=rent_id) == {"status": "error", "message": "STATUS_FINISH"}
    assert api.getBalance() == {"balance": "8.00"}


# --- aiosmsactivate (aiohttp, POST with query parameters) --------------------------------------


def test_async_client_number_v2_flow_to_finish(setup):
    raw_key, url = setup

    async def flow():
        client = SmsActivate(raw_key, base_url=url)
        assert await client.get_balance() == 10.0
        number = await client.purchase("tg", country=187)
        assert number.phone_number.isdigit() and number.operator == "any"
        ready = await client.set_activation_status(number.activation_id, SetActivationStatus.READY)
        assert ready == SetActivationStatusResponse.READY
        status, code = await client.get_activation_status_v1(number.activation_id)
        assert (status, code) == (ActivationStatus.WAIT, None)
        await asyncio.to_thread(deliver_sms, number.activation_id, "424242")
        for _ in range(3):
            status, code = await client.get_activation_status_v1(number.activation_id)
            if status == ActivationStatus.OK:
                break
        assert (status, code) == (ActivationStatus.OK, "424242")
        v2 = await client.get_activation_status(number.activation_id)
        assert v2.sms.code == "424242"
        done = await client.set_activation_status(
            number.activation_id, SetActivationStatus.COMPLETE
        )
        assert done == SetActivationStatusResponse.ACTIVATED
        assert await client.get_balance() == 9.5

    asyncio.run(flow())


@override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
def test_async_client_get_number_flow_to_cancel(setup):
    raw_key, url = setup

    async def flow():
        client = SmsActivate(raw_key, base_url=url)
        answer = await client.get_number("tg", country=187)
        assert answer.startswith("ACCESS_NUMBER:")
        activation_id = answer.split(":")[1]
        await client.set_activation_status(activation_id, SetActivationStatus.READY)
        status, _ = await client.get_activation_status_v1(activation_id)
        assert status == ActivationStatus.WAIT
        cancel = await client.set_activation_status(activation_id, SetActivationStatus.CANCEL)
        assert cancel == SetActivationStatusResponse.CANCEL
        status, _ = await client.get_activation_status_v1(activation_id)
        assert status == ActivationStatus.CANCEL
        assert await client.get_balance() == 10.0

    asyncio.run(flow())


def test_async_client_errors_catalog_and_lists(setup):
    raw_key, url = setup

    async def flow():
        client = SmsActivate(raw_key, base_url=url)
        with pytest.raises(SmsActivateException) as error:
            await client.purchase("tg", country=187, maxPrice=0.1)
        assert error.value.code == "WRONG_MAX_PRICE"
        with pytest.raises(SmsActivateException) as error:
            await client.purchase("wa", country=187)
        assert error.value.code == "NO_NUMBERS"
        assert (await client.get_count_numbers("187", "any"))["tg_0"] == "10"
        assert "mts" in (await client.get_operators("0"))["countryOperators"]["0"]
        assert (await client.get_prices("tg", "187"))["187"]["tg"]["count"] == 10
        assert (await client.get_countries())["187"]["eng"] == "USA"
        number = await client.purchase("tg", country=187)
        active = await client.get_active_activations()
        assert active["activeActivations"][0]["activationId"] == str(number.activation_id)
        history = await client.get_history()
        assert history["data"][0]["id"] == str(number.activation_id)
        with pytest.raises(SmsActivateException) as error:
            await SmsActivate("x" * 40, base_url=url).get_balance()
        assert error.value.code == "BAD_KEY"

    asyncio.run(flow())


def test_async_client_rent_flow(setup):
    raw_key, url = setup
    rental_plans_seed_demo(country_ids=[187])

    async def flow():
        client = SmsActivate(raw_key, base_url=url)
        rented = await client.get_rent_number("tg", time=4, country="187")
        rent_id = rented["phone"]["id"]
        await asyncio.to_thread(deliver_rent_sms, rent_id)
        status = await client.get_rent_status(str(rent_id))
        assert status["values"]["0"]["text"] == "Code 5555"
        continued = await client.continue_rent_number(str(rent_id), 4)
        assert continued["phone"]["endDate"] > rented["phone"]["endDate"]
        with pytest.raises(SmsActivateException) as error:
            await client.set_rent_status(str(rent_id), 2)  # sent as getRentStatus&status=2
        assert error.value.code == "CANT_CANCEL"  # an SMS came: no cancel, no refund
        assert await client.set_rent_status(str(rent_id), 1) == {"status": "success"}
        with pytest.raises(SmsActivateException) as error:
            await client.get_rent_status("999999")
        assert error.value.code == "INVALID_PHONE"
        assert await client.get_balance() == 8.0

    asyncio.run(flow())
