"""Dashboard: Top up → the processor's page; the sandbox's buttons; the live status fragment;
the list with transaction hashes; someone else's top-up is not found."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from wallets.models import TopUp

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(client):
    user = UserFactory()
    client.force_login(user)
    return user


def top_up_through_the_form(client, **data) -> object:
    form = {"amount": "12.00", "processor": "sandbox", "pay_currency": "BTC", **data}
    return client.post(reverse("topup-new"), form)


def test_the_form_redirects_to_the_processors_payment_page(client, customer, sandbox):
    page = client.get(reverse("topup-new"))
    response = top_up_through_the_form(client)

    top_up = TopUp.objects.get()
    assert page.status_code == 200 and b"Sandbox" in page.content
    assert response.status_code == 302 and response.url == top_up.payment_url
    assert (top_up.user, top_up.amount, top_up.status) == (customer, Decimal("12.00"), "pending")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "0.10"}, b"Top-ups are from 1.00 to 5000.00 USD."),
        ({"amount": "abc"}, b"Enter a number."),
        ({"pay_currency": "DOGE"}, b"Select a valid choice."),
    ],
)
def test_bad_input_is_a_form_error(client, customer, sandbox, data, message):
    response = top_up_through_the_form(client, **data)

    assert response.status_code == 400 and message in response.content
    assert not TopUp.objects.exists()


def test_a_currency_of_another_processor_is_a_form_error(client, customer, sandbox, cryptomus):
    response = top_up_through_the_form(client, pay_currency="TRX")  # Cryptomus', not the sandbox's

    assert response.status_code == 400 and b"does not take that currency" in response.content


def test_pay_less_then_pay_through_the_sandbox_page(client, customer, sandbox):
    top_up_through_the_form(client)
    top_up = TopUp.objects.get()
    page = client.get(top_up.payment_url)

    less = client.post(reverse("payments-sandbox-action", args=[top_up.processor_ref, "pay_less"]))
    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("partially_paid", Decimal("6.00"))
    client.post(reverse("payments-sandbox-action", args=[top_up.processor_ref, "pay"]))

    top_up.refresh_from_db()
    assert page.status_code == 200 and b"Pay less" in page.content and b"Expire" in page.content
    assert less.status_code == 302 and less.url.endswith(reverse("topup-detail", args=[top_up.pk]))
    assert (top_up.status, top_up.wallet.balance) == ("paid", Decimal("12.00"))
    assert len(top_up.tx_hash_list) == 2


def test_expire_through_the_sandbox_page(client, customer, sandbox):
    top_up_through_the_form(client)
    top_up = TopUp.objects.get()

    client.post(reverse("payments-sandbox-action", args=[top_up.processor_ref, "expire"]))

    top_up.refresh_from_db()
    assert top_up.status == "expired" and top_up.wallet.balance == 0


def test_the_status_fragment_polls_until_settled(client, customer, sandbox):
    top_up_through_the_form(client)
    top_up = TopUp.objects.get()
    url = reverse("topup-detail", args=[top_up.pk])

    waiting = client.get(url, headers={"HX-Request": "true"})
    client.post(reverse("payments-sandbox-action", args=[top_up.processor_ref, "pay"]))
    paid = client.get(url, headers={"HX-Request": "true"})

    assert b"<html" not in waiting.content and b'hx-trigger="every 2s"' in waiting.content
    assert b"Waiting for payment" in waiting.content
    assert b"hx-trigger" not in paid.content and b"12.00 USD" in paid.content
    assert b"Paid" in paid.content


def test_the_list_shows_transaction_hashes(client, customer, sandbox):
    top_up_through_the_form(client)
    top_up = TopUp.objects.get()
    client.post(reverse("payments-sandbox-action", args=[top_up.processor_ref, "pay"]))
    top_up.refresh_from_db()

    page = client.get(reverse("topup-list"))

    assert page.status_code == 200 and top_up.tx_hashes.encode() in page.content


def test_someone_elses_top_up_is_not_found(client, customer, sandbox):
    top_up_through_the_form(client)
    top_up = TopUp.objects.get()
    client.force_login(UserFactory())

    assert client.get(reverse("topup-detail", args=[top_up.pk])).status_code == 404
    assert b"No top-ups yet." in client.get(reverse("topup-list")).content


def test_pages_need_a_login(client):
    response = client.get(reverse("topup-new"))

    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_sandbox_page_is_gone_when_the_sandbox_is_refused(client, customer, sandbox, settings):
    top_up_through_the_form(client)
    top_up = TopUp.objects.get()
    settings.SMSBOX_SANDBOX_PAYMENTS = False

    assert client.get(top_up.payment_url).status_code == 404
    pay = client.post(reverse("payments-sandbox-action", args=[top_up.processor_ref, "pay"]))
    assert pay.status_code == 404
    top_up.refresh_from_db()
    assert top_up.wallet.balance == 0
