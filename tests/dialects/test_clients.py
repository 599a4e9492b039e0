"""The PyPI client libraries of SMSPool (``smspool``) and 5sim (``fivesim``), unmodified except
for their base URL, against smsbox served on a real socket (pytest-django's ``live_server``)."""

from decimal import Decimal

import pytest
from django.test import override_settings
from fivesim import FiveSim
from fivesim.enums import (
    ActivationProduct,
    Category,
    Country,
    HostingProduct,
    Operator,
    OrderAction,
    Status,
)
from fivesim.errors import ErrorType, FiveSimError
from fivesim.response import Order
from smspool import smspool

from providers.catalog import catalog_load
from rentals.dialects.fivesim import HOSTING_BASE
from rentals.models import Rental
from rentals.services.intake import activations_poll
from rentals.services.rentals import rental_plans_seed_demo
from tests.dialects.conftest import deliver_rent_sms, deliver_sms
from tests.factories import ApiKeyFactory, OfferFactory, UserFactory
from tests.handler.conftest import fund

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def setup(live_server):
    catalog_load()  # a transactional test before this one may have emptied the tables
    user = UserFactory()
    fund(user, "10.00")
    OfferFactory(cost=Decimal("0.50"), stock=10)
    return ApiKeyFactory(user=user).raw_key, live_server.url


# --- smspool (requests, GET, key as a parameter) ----------------------------------------------


@pytest.fixture
def simulator_sends(setup):
    """The simulator of the offer sends its SMS as soon as it is asked (no delay), as the
    demo's simulator does after a few seconds."""
    from providers.models import Provider

    for provider in Provider.objects.filter(protocol="simulator"):
        provider.settings = {"sms_delay": 0}
        provider.save(update_fields=["settings"])  # as an operator does: every process sees it
    return setup


def simulator_code_arrives() -> None:
    """What beat's polling job does: ask the upstream (the simulator) about every waiting
    activation; the SMS it answers goes through the one intake path."""
    assert activations_poll() >= 1


def smspool_client(raw_key: str, url: str) -> smspool:
    return smspool(raw_key, base_url=f"{url}/smspool/")  # the base URL, the one thing changed


def test_smspool_client_buys_reads_the_code_and_is_charged_once(setup):
    client = smspool_client(*setup)
    assert client.get_balance() == {"balance": "10.00"}
    assert {"ID": 1, "name": "United States", "short_name": "US", "cc": "1", "region": ""} in (
        client.get_countries()
    )
    assert {"ID": "tg", "name": "Telegram"} in client.get_services(country="US")
    assert client.get_service_price(country="United States", service="Telegram")["price"] == (
        "0.50"
    )
    order = client.purchase_sms(country="United States", service="Telegram")
    assert order["success"] == 1 and order["number"].startswith("1")
    assert client.check_sms(order["order_id"])["status"] == 1  # pending
    deliver_sms(_activation_id(order["order_id"]))
    checked = client.check_sms(order["order_id"])
    assert (checked["status"], checked["sms"]) == (3, "123456")  # completed, with its code
    assert "123456" in checked["full_sms"]
    history = client.get_order_history()
    assert [h["order_code"] for h in history] == [order["order_id"]]
    assert history[0]["status"] == "completed"
    assert client.get_balance() == {"balance": "9.50"}


def _activation_id(display_number: str) -> int:
    from rentals.models import Activation

    return Activation.objects.get(display_number=display_number).pk


def test_smspool_client_reads_the_code_the_simulator_sends(simulator_sends):
    client = smspool_client(*simulator_sends)
    order = client.purchase_sms(country="US", service="Telegram")
    assert client.check_sms(order["order_id"])["status"] == 1  # nothing asked yet
    simulator_code_arrives()
    checked = client.check_sms(order["order_id"])
    assert checked["status"] == 3 and checked["sms"].isdigit()
    assert checked["sms"] in checked["full_sms"]
    assert client.get_balance() == {"balance": "9.50"}


@override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
def test_smspool_client_cancels_and_is_refunded(setup):
    client = smspool_client(*setup)
    order = client.purchase_sms(country="US", service="tg")
    assert [a["order_id"] for a in client.get_active_orders()] == [order["order_id"]]
    assert client.get_balance() == {"balance": "9.50"}
    assert client.cancel_sms(order["order_id"])["success"] == 1
    assert client.check_sms(order["order_id"])["status"] == 5  # cancelled
    assert client.get_active_orders() == []
    assert client.get_balance() == {"balance": "10.00"}
    again = client.cancel_sms(order["order_id"])
    assert again["success"] == 0 and again["type"] == "BAD_STATUS"


def test_smspool_client_resends_after_a_code(setup):
    client = smspool_client(*setup)
    order = client.purchase_sms(country="US", service="Telegram")
    refused = client.resend_sms(order["order_id"])
    assert refused["success"] == 0  # no code yet
    deliver_sms(_activation_id(order["order_id"]))
    assert client.resend_sms(order["order_id"])["resend"] == 1
    assert client.check_sms(order["order_id"])["status"] == 4  # resend


def test_smspool_client_rents_reads_messages_extends_and_refunds(setup):
    rental_plans_seed_demo(country_ids=[187])
    client = smspool_client(*setup)
    offered = client.get_rentals()
    assert "1" in offered and '"1":' in offered["1"]["pricing"]  # 1 day priced
    rented = client.purchase_rental(rental_id=1, days=1)
    assert rented["success"] == 1 and rented["days"] == 1
    code = rented["rental_code"]
    status = client.get_rental_status(code)
    assert status["status"]["available"] == 1
    assert status["status"]["phonenumber"] == rented["phonenumber"]
    deliver_rent_sms(Rental.objects.get(display_number=code))
    messages = client.get_rental_message(code)["messages"]
    assert messages["0"]["message"] == "Code 5555" and messages["0"]["sender"] == "Bank"
    extended = client.extend_rental(code, days=1)
    assert extended["success"] == 1 and extended["expiry"] > rented["expiry"]
    refused = client.refund_rental(code)  # an SMS came: no refund
    assert refused["success"] == 0 and refused["type"] == "CANT_CANCEL"
    spent = Decimal("10.00") - 2 * Rental.objects.get(display_number=code).price
    assert Decimal(client.get_balance()["balance"]) == spent


def test_smspool_client_errors(setup):
    client = smspool_client(*setup)
    nothing = client.purchase_sms(country="US", service="WhatsApp")
    assert nothing["success"] == 0 and nothing["type"] == "NO_NUMBERS"
    assert client.check_sms("NOPE")["message"] == "Order not found."
    with pytest.raises(Exception, match="Invalid API key"):  # the library raises on a 401
        smspool_client("x" * 40, setup[1]).get_balance()


# --- fivesim (requests, Bearer token, paths) ---------------------------------------------------


def fivesim_client(raw_key: str, url: str) -> FiveSim:
    client = FiveSim(raw_key)
    # The base URLs, the one thing changed.
    client.user._APIRequest__endpoint = f"{url}/5sim/v1/user/"
    client.guest._APIRequest__endpoint = f"{url}/5sim/v1/guest/"
    return client


def test_fivesim_client_buys_reads_the_code_and_finishes(setup):
    client = fivesim_client(*setup)
    profile = client.user.get_profile_data()
    assert (profile.balance, profile.default_operator_name) == (10.0, "any")
    products = client.guest.get_products(Country.USA, Operator.ANY_OPERATOR)
    assert products[ActivationProduct.TELEGRAM].quantity == 10
    prices = client.guest.get_prices(country=Country.USA, product=ActivationProduct.TELEGRAM)
    assert prices[Country.USA][ActivationProduct.TELEGRAM][Operator.ANY_OPERATOR].price == 0.5
    assert client.guest.get_countries()[Country.USA].iso == "us"
    order = client.user.buy_number(Country.USA, Operator.ANY_OPERATOR, ActivationProduct.TELEGRAM)
    assert order.status == Status.PENDING and order.phone.startswith("+1")
    assert client.user.order(OrderAction.CHECK, order).sms == []
    deliver_sms(order.id, "424242")
    checked = client.user.order(OrderAction.CHECK, order)
    assert checked.status == Status.RECEIVED
    assert [sms.activation_code for sms in checked.sms] == ["424242"]
    inbox = client.user.get_sms_inbox_list(order)
    assert [sms.activation_code for sms in inbox] == ["424242"]
    finished = client.user.order(OrderAction.FINISH, order)
    assert finished.status == Status.FINISHED
    history = client.user.get_orders_history(Category.ACTIVATION)
    assert (history.total, history.data[0].id) == (1, order.id)
    payments = client.user.get_payments_history()
    assert [p.type for p in payments.data] == ["charge", "deposit"]
    assert client.user.get_profile_data().balance == 9.5


def test_fivesim_client_reads_the_code_the_simulator_sends_and_finishes(simulator_sends):
    client = fivesim_client(*simulator_sends)
    order = client.user.buy_number(Country.USA, Operator.ANY_OPERATOR, ActivationProduct.TELEGRAM)
    assert client.user.order(OrderAction.CHECK, order).sms == []
    simulator_code_arrives()
    checked = client.user.order(OrderAction.CHECK, order)
    assert checked.status == Status.RECEIVED
    [sms] = checked.sms
    assert sms.activation_code.isdigit() and sms.activation_code in sms.text
    assert client.user.order(OrderAction.FINISH, order).status == Status.FINISHED
    assert client.user.get_profile_data().balance == 9.5


@override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
def test_fivesim_client_cancels_and_is_refunded(setup):
    client = fivesim_client(*setup)
    order = client.user.buy_number(Country.USA, Operator.ANY_OPERATOR, ActivationProduct.TELEGRAM)
    assert client.user.get_profile_data().balance == 9.5
    cancelled = client.user.order(OrderAction.CANCEL, order)
    assert cancelled.status == Status.CANCELED
    assert client.user.get_profile_data().balance == 10.0
    banned = client.user.buy_number(Country.USA, Operator.ANY_OPERATOR, ActivationProduct.TELEGRAM)
    assert client.user.order(OrderAction.BAN, banned).status == Status.BANNED
    assert client.user.get_profile_data().balance == 10.0


def test_fivesim_client_rents_and_reads_the_inbox(setup):
    rental_plans_seed_demo(country_ids=[187])
    client = fivesim_client(*setup)
    order = client.user.buy_number(Country.USA, Operator.ANY_OPERATOR, HostingProduct.ONE_DAY)
    assert order.id > HOSTING_BASE and order.product == HostingProduct.ONE_DAY
    deliver_rent_sms(Rental.objects.get(pk=order.id - HOSTING_BASE))
    inbox = client.user.get_sms_inbox_list(order)
    assert [sms.text for sms in inbox] == ["Code 5555"]
    hosting = client.user.get_orders_history(Category.HOSTING)
    assert [o.id for o in hosting.data] == [order.id]
    assert client.user.order(OrderAction.FINISH, order).status == Status.FINISHED


def test_fivesim_client_errors(setup):
    client = fivesim_client(*setup)
    with pytest.raises(FiveSimError) as error:
        client.user.buy_number(Country.USA, Operator.ANY_OPERATOR, ActivationProduct.WHATSAPP)
    assert error.value.get_error() == ErrorType.NO_FREE_PHONES
    with pytest.raises(FiveSimError) as error:
        client.user.order(OrderAction.CHECK, Order.from_order_id(999999))
    assert error.value.get_error() == ErrorType.ORDER_NOT_FOUND
    with pytest.raises(FiveSimError) as error:
        fivesim_client("x" * 40, setup[1]).user.get_profile_data()
    assert error.value.get_error() == ErrorType.INVALID_API_KEY
