"""Admin: processors with write-only credentials; top-ups searchable by what support is asked,
raw callbacks read-only, ask the processor again, manual credit through the adjustment."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.factories import StaffFactory, UserFactory
from tests.wallets.fakes import API_KEY
from wallets.models import LedgerEntry, PaymentProcessor, TopUp
from wallets.topup_services import topup_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    staff = StaffFactory()
    client.force_login(staff)
    return staff


@pytest.fixture
def top_up(cryptomus) -> TopUp:
    return topup_create(
        user=UserFactory(email="payer@example.com"),
        amount="20.00",
        processor_name="cryptomus",
        pay_currency="USDT",
        base_url="http://testserver",
    )


def test_credentials_are_never_rendered_and_kept_when_left_blank(client, operator, cryptomus):
    url = reverse("admin:wallets_paymentprocessor_change", args=[cryptomus.pk])
    page = client.get(url)
    assert page.status_code == 200 and API_KEY.encode() not in page.content
    assert b"/payments/cryptomus/callback" in page.content

    form = {
        "name": "cryptomus",
        "kind": "cryptomus",
        "enabled": "on",
        "base_url": cryptomus.base_url,
        "merchant": cryptomus.merchant,
        "store_id": "",
        "api_key": "",
        "secret": "",
        "currencies": '["USDT"]',
        "allowed_ips": "",
        "invoice_minutes": "30",
        "timeout": "10",
    }
    saved = client.post(url, form)

    cryptomus.refresh_from_db()
    assert saved.status_code == 302
    assert (cryptomus.api_key, cryptomus.invoice_minutes) == (API_KEY, 30)


def test_a_processor_without_what_its_protocol_needs_is_a_form_error(client, operator):
    form = {
        "name": "btc",
        "kind": "btcpay",
        "base_url": "",
        "currencies": "[]",
        "invoice_minutes": "60",
        "timeout": "15",
    }
    page = client.post(reverse("admin:wallets_paymentprocessor_add"), form)

    assert page.status_code == 200 and b"needs the store" in page.content
    assert not PaymentProcessor.objects.exists()


@pytest.mark.parametrize("query", ["payer@example", "c0ffee42", "REF", "ID"])
def test_top_ups_are_found_by_email_tx_hash_and_processor_id(client, operator, top_up, query):
    TopUp.objects.filter(pk=top_up.pk).update(tx_hashes="c0ffee42deadbeef")
    TopUp.objects.exclude(pk=top_up.pk).delete()
    query = {"REF": top_up.processor_ref, "ID": str(top_up.pk)}.get(query, query)

    page = client.get(reverse("admin:wallets_topup_changelist"), {"q": query})

    assert page.status_code == 200 and f">{top_up.pk}<".encode() in page.content


def test_ask_the_processor_again_credits_what_it_says(client, operator, top_up, fake_cryptomus):
    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00")

    client.post(
        reverse("admin:wallets_topup_changelist"),
        {"action": "ask_processor_again", "_selected_action": [top_up.pk]},
    )

    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("paid", Decimal("20.00"))
    detail = client.get(reverse("admin:wallets_topup_change", args=[top_up.pk]))
    assert detail.status_code == 200 and b"reconciliation" in detail.content


def test_a_manual_credit_is_an_adjustment_and_counts_as_credited(
    client, operator, top_up, fake_cryptomus
):
    url = reverse("admin:wallets_topup_changelist")
    form = client.post(url, {"action": "credit_manually", "_selected_action": [top_up.pk]})
    token = form.context["form"]["token"].value()
    data = {
        "action": "credit_manually",
        "_selected_action": [top_up.pk],
        "apply": "1",
        "amount": "5.00",
        "reason": "paid to the wrong network, confirmed by support",
        "token": token,
    }

    client.post(url, data)
    client.post(url, data)  # the same form again
    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00")
    client.post(url, {"action": "ask_processor_again", "_selected_action": [top_up.pk]})

    adjustment = LedgerEntry.objects.get(kind="adjustment")
    top_up.refresh_from_db()
    assert (adjustment.amount, adjustment.actor) == (Decimal("5.00"), operator)
    assert "wrong network" in adjustment.memo
    assert top_up.amount_credited == Decimal("20.00") == top_up.wallet.balance
    assert LedgerEntry.objects.get(kind="deposit").amount == Decimal("15.00")
