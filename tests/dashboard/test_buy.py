"""The Buy page and the Rent page: search, prices, purchases (charged once however often the
form is sent), refusals as messages, favourites, buy again."""

from decimal import Decimal

import pytest

from rentals.models import Activation, Favourite, Rental
from rentals.services import activation_purchase
from tests.dashboard.conftest import messages_of
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db


def test_the_search_finds_services_by_name_and_code(client_in, simulator):
    by_name = client_in.get("/buy/options/service/", {"q": "telegr"}).content.decode()
    by_code = client_in.get("/buy/options/service/", {"q": "wa"}).content.decode()
    assert "Telegram" in by_name and "?service=tg" in by_name
    assert "?service=wa" in by_code


@pytest.mark.parametrize("term", ["USA", "us", "187", "США"])
def test_the_search_finds_countries_by_name_code_id_and_russian_name(client_in, simulator, term):
    found = client_in.get("/buy/options/country/", {"q": term}).content.decode()
    assert "?country=187" in found


def test_the_pair_shows_the_quote_and_operators(client_in, simulator):
    page = client_in.get("/", {"service": "tg", "country": "187"}).content.decode()
    assert "Buy for 0.50" in page
    assert "any operator" in page
    assert 'name="idempotency_key"' in page


def test_a_buy_charges_once_even_when_the_form_is_sent_twice(client_in, customer, simulator):
    form = {"service": "tg", "country": "187", "operator": "", "idempotency_key": "render-1"}

    first = client_in.post("/buy/", form)
    second = client_in.post("/buy/", form)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == "/numbers/"
    assert Activation.objects.filter(user=customer).count() == 1
    assert LedgerEntry.objects.filter(wallet__user=customer, kind="charge").count() == 1


def test_two_renders_of_the_form_buy_two_numbers(client_in, customer, simulator):
    for key in ("render-1", "render-2"):
        client_in.post("/buy/", {"service": "tg", "country": "187", "idempotency_key": key})
    assert Activation.objects.filter(user=customer).count() == 2


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"max_price": "0.10"}, "The cheapest number costs 0.50."),
        ({"service": "nope"}, "Choose a service and a country first."),
    ],
)
def test_a_refused_buy_says_why(client_in, customer, simulator, extra, expected):
    form = {"service": "tg", "country": "187", "idempotency_key": "k", **extra}
    response = client_in.post("/buy/", form, follow=True)
    assert response.status_code == 200
    assert any(m.startswith(expected) or expected in m for m in messages_of(response))
    assert not Activation.objects.filter(user=customer).exists()


def test_a_buy_without_money_is_refused_with_the_services_message(client, other, simulator):
    client.force_login(other)
    response = client.post(
        "/buy/", {"service": "tg", "country": "187", "idempotency_key": "k"}, follow=True
    )
    assert "The balance is too low for this." in " ".join(messages_of(response))
    assert not Activation.objects.filter(user=other).exists()


def test_no_numbers_is_a_message(client_in, customer, simulator):
    simulator.offers.update(stock=0)
    response = client_in.post(
        "/buy/", {"service": "tg", "country": "187", "idempotency_key": "k"}, follow=True
    )
    assert response.status_code == 200
    assert messages_of(response)


def test_favourites_toggle(client_in, customer, simulator):
    client_in.post("/buy/favourite/", {"service": "tg", "country": "187"})
    assert Favourite.objects.filter(user=customer, service__code="tg").exists()
    assert "★ Favourites" in client_in.get("/").content.decode()
    client_in.post("/buy/favourite/", {"service": "tg", "country": "187"})
    assert not Favourite.objects.filter(user=customer).exists()


def test_buy_again_buys_the_same_service_and_country(client_in, customer, simulator, telegram, usa):
    past = activation_purchase(user=customer, service=telegram, country=usa)
    response = client_in.post(f"/history/activations/{past.pk}/again/", {"idempotency_key": "a"})
    client_in.post(f"/history/activations/{past.pk}/again/", {"idempotency_key": "a"})
    assert response["Location"] == "/numbers/"
    again = Activation.objects.filter(user=customer).exclude(pk=past.pk).get()
    assert (again.service, again.country) == (telegram, usa)


def test_buy_again_of_another_customers_order_is_a_404(
    client, other, customer, simulator, telegram, usa
):
    past = activation_purchase(user=customer, service=telegram, country=usa)
    client.force_login(other)
    assert client.post(f"/history/activations/{past.pk}/again/").status_code == 404


def test_a_rental_is_bought_from_a_plan_once(client_in, customer, simulator):
    form = {"country": "187", "package": "", "hours": "4", "auto_renew": "on",
            "idempotency_key": "rent-1"}  # fmt: skip
    assert client_in.post("/rent/buy/", form)["Location"] == "/numbers/"
    client_in.post("/rent/buy/", form)
    rental = Rental.objects.get(user=customer)
    assert rental.auto_renew is True and rental.hours == 4
    assert client_in.get("/rent/?country=187").status_code == 200


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"hours": ""}, "Choose a plan or give the number of hours."),
        ({"hours": "2"}, "Available number of hours from 4"),
    ],
)
def test_a_refused_rental_says_why(client_in, customer, simulator, form, expected):
    data = {"country": "187", "idempotency_key": "r", **form}
    response = client_in.post("/rent/buy/", data, follow=True)
    assert any(expected in m for m in messages_of(response))
    assert not Rental.objects.filter(user=customer).exists()


def test_rent_again_of_another_customers_rental_is_a_404(client, other, customer, simulator):
    from providers.models import Country
    from rentals.services.rentals import rental_purchase

    rental = rental_purchase(
        user=customer, country=Country.objects.get(sms_activate_id=187), hours=4
    )
    client.force_login(other)
    assert client.post(f"/history/rentals/{rental.pk}/again/").status_code == 404
    assert Decimal(0) < rental.price


def test_a_buy_whose_upstream_has_not_answered_says_processing(client_in, customer, simulator):
    # given: the upstream sells, then its answer times out
    simulator.settings = {**simulator.settings, "fail_timeout": 1.0}
    simulator.save()
    # when
    response = client_in.post(
        "/buy/",
        {"service": "tg", "country": "187", "operator": "", "idempotency_key": "k1"},
        follow=True,
    )
    # then: not "bought", not refused: processing, listed under My Numbers
    shown = " ".join(messages_of(response))
    assert "is processing" in shown and "bought" not in shown
    page = client_in.get("/numbers/").content.decode()
    assert "Processing (upstream answer pending)" in page
    assert Activation.objects.get(user=customer).state == Activation.State.UNKNOWN
