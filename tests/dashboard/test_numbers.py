"""My Numbers: the live fragment (polling while something is open, 204 while nothing changed,
a fixed number of queries) and every action, with refusals as the service's message."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.models import Country
from rentals.models import Activation, NumberBan, Rental
from rentals.services import activation_purchase
from rentals.services.rentals import rental_purchase
from tests.dashboard.conftest import messages_of, shown_version
from tests.rentals.conftest import age, fund, sms_arrives
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def bought(customer, simulator, telegram, usa):
    return activation_purchase(user=customer, service=telegram, country=usa)


def test_the_fragment_polls_while_an_order_is_open(client_in, bought):
    page = client_in.get("/numbers/").content.decode()
    assert 'hx-trigger="every 2000ms"' in page
    assert f"+{bought.phone}" in page


def test_the_fragment_stops_polling_when_nothing_is_open(client_in, customer):
    fragment = client_in.get("/numbers/live/").content.decode()
    assert "hx-trigger" not in fragment
    assert 'data-polling="off"' in fragment


def test_a_poll_gets_204_until_the_code_comes(client_in, bought):
    first = client_in.get("/numbers/live/").content.decode()
    version = shown_version(first)
    assert client_in.get("/numbers/live/", {"v": version}).status_code == 204

    sms_arrives(bought, text="Your Telegram code is 424242")

    changed = client_in.get("/numbers/live/", {"v": version})
    assert changed.status_code == 200
    assert "424242" in changed.content.decode()


def test_the_fragment_of_twenty_open_orders_takes_a_fixed_number_of_queries(
    client_in, customer, simulator, telegram, usa, django_assert_num_queries
):
    for _ in range(18):
        sms_arrives(activation_purchase(user=customer, service=telegram, country=usa))
    for _ in range(2):
        rental_purchase(user=customer, country=usa, hours=4)
    client_in.get("/numbers/live/")  # the session's first request writes its activity

    # activations + their messages, rentals + their messages; the session, the user and the
    # version of the list are read from Redis
    with django_assert_num_queries(4):
        response = client_in.get("/numbers/live/")
    assert response.content.decode().count('class="order"') == 20
    version = shown_version(response.content.decode())

    with django_assert_num_queries(0):  # what a browser sends every 2 s: no SQL at all
        assert client_in.get("/numbers/live/", {"v": version}).status_code == 204


@pytest.mark.parametrize("htmx", [True, False])
def test_cancel_after_the_early_window_refunds(client_in, customer, bought, htmx):
    age(bought, 300)
    response = client_in.post(f"/numbers/activations/{bought.pk}/cancel/", **(HTMX if htmx else {}))
    bought.refresh_from_db()
    assert bought.state == Activation.State.CANCELLED
    assert LedgerEntry.objects.filter(wallet__user=customer, kind="refund").count() == 1
    if htmx:
        assert "the price was refunded" in response.content.decode()
        assert 'hx-swap-oob="true"' in response.content.decode()
    else:
        assert response["Location"] == "/numbers/"


def test_cancel_in_the_early_window_is_refused_with_the_services_message(client_in, bought):
    response = client_in.post(f"/numbers/activations/{bought.pk}/cancel/", follow=True)
    assert "This activation can be cancelled in 120 seconds." in " ".join(messages_of(response))
    bought.refresh_from_db()
    assert bought.state == Activation.State.WAITING


def test_the_early_window_shows_as_a_waiting_button(client_in, bought):
    page = client_in.get("/numbers/").content.decode()
    assert f'id="cancel-{bought.display_number}"' in page
    assert "data-enable-in=" in page


def test_finish_after_the_code(client_in, bought):
    sms_arrives(bought)
    client_in.post(f"/numbers/activations/{bought.pk}/finish/", **HTMX)
    bought.refresh_from_db()
    assert bought.state == Activation.State.COMPLETED


def test_resend_then_its_cooldown(client_in, bought):
    sms_arrives(bought)
    response = client_in.post(f"/numbers/activations/{bought.pk}/resend/", **HTMX)
    bought.refresh_from_db()
    assert bought.state == Activation.State.RESEND
    assert f'id="resend-{bought.display_number}" class="small secondary" disabled' in (
        response.content.decode()
    )
    again = client_in.post(f"/numbers/activations/{bought.pk}/resend/", **HTMX)
    assert "Another code can be requested in " in again.content.decode()


def test_replace_after_the_early_window(client_in, customer, bought):
    age(bought, 300)
    client_in.post(f"/numbers/activations/{bought.pk}/replace/", **HTMX)
    bought.refresh_from_db()
    assert bought.state == Activation.State.CANCELLED
    assert Activation.objects.filter(user=customer, replaces=bought).exists()


def test_replace_after_an_sms_is_refused(client_in, bought):
    sms_arrives(bought)
    age(bought, 300)
    response = client_in.post(f"/numbers/activations/{bought.pk}/replace/", **HTMX)
    assert "can be replaced" in response.content.decode()


def test_ready_and_skip(client_in, customer, bought):
    client_in.post(f"/numbers/activations/{bought.pk}/ready/", **HTMX)
    bought.refresh_from_db()
    assert bought.ready is True
    client_in.post(f"/numbers/activations/{bought.pk}/skip/", **HTMX)
    assert NumberBan.objects.filter(user=customer, phone=bought.phone).exists()


def test_an_unknown_action_is_a_404(client_in, bought):
    assert client_in.post(f"/numbers/activations/{bought.pk}/explode/").status_code == 404


@pytest.mark.parametrize("action", ["cancel", "finish", "resend", "ready", "skip", "replace"])
def test_another_customers_activation_is_a_404(client, other, bought, action):
    client.force_login(other)
    assert client.post(f"/numbers/activations/{bought.pk}/{action}/").status_code == 404
    bought.refresh_from_db()
    assert bought.state == Activation.State.WAITING


@pytest.fixture
def rental(customer, simulator):
    return rental_purchase(user=customer, country=Country.objects.get(sms_activate_id=187), hours=4)


def test_rental_auto_renew_toggles(client_in, rental):
    client_in.post(f"/numbers/rentals/{rental.pk}/auto-renew/", **HTMX)
    rental.refresh_from_db()
    assert rental.auto_renew is False
    client_in.post(f"/numbers/rentals/{rental.pk}/auto-renew/", {"enabled": "on"}, **HTMX)
    rental.refresh_from_db()
    assert rental.auto_renew is True


def test_rental_extend_charges_the_plan(client_in, customer, rental):
    before = rental.expires_at
    client_in.post(f"/numbers/rentals/{rental.pk}/extend/", {"hours": "4"}, **HTMX)
    rental.refresh_from_db()
    assert rental.expires_at > before


def test_rental_extend_with_a_bad_duration_is_refused(client_in, rental):
    response = client_in.post(f"/numbers/rentals/{rental.pk}/extend/", {"hours": "1"}, **HTMX)
    assert "Available number of hours" in response.content.decode()


def test_rental_cancel_then_finish_is_refused(client_in, customer, rental):
    client_in.post(f"/numbers/rentals/{rental.pk}/cancel/", **HTMX)
    rental.refresh_from_db()
    assert rental.state == Rental.State.CANCELLED
    response = client_in.post(f"/numbers/rentals/{rental.pk}/finish/", follow=True)
    assert "already cancelled" in " ".join(messages_of(response))


@pytest.mark.parametrize("action", ["cancel", "finish", "auto-renew", "extend"])
def test_another_customers_rental_is_a_404(client, other, rental, action):
    client.force_login(other)
    assert client.post(f"/numbers/rentals/{rental.pk}/{action}/").status_code == 404


def test_the_page_and_the_poll_cost_the_same_queries_for_two_or_twenty_open_orders(
    client_in, customer, simulator, telegram, usa, django_assert_max_num_queries
):
    fund(customer, "200.00")

    def queries(url: str) -> int:
        client_in.get(url)  # any write the first request of a burst makes (session activity)
        with CaptureQueriesContext(connection) as captured:
            assert client_in.get(url).status_code == 200
        return len(captured)

    sms_arrives(activation_purchase(user=customer, service=telegram, country=usa))
    rental_purchase(user=customer, country=usa, hours=4)
    few = {url: queries(url) for url in ("/numbers/", "/numbers/live/")}
    for n in range(17):
        bought = activation_purchase(user=customer, service=telegram, country=usa)
        if n % 2:
            sms_arrives(bought, text=f"Your Telegram code is {100000 + n}")
    rental_purchase(user=customer, country=usa, hours=4)

    many = {url: queries(url) for url in ("/numbers/", "/numbers/live/")}
    with django_assert_max_num_queries(few["/numbers/live/"]):
        poll = client_in.get("/numbers/live/")

    assert many == few
    assert poll.content.decode().count('class="order"') == 20
