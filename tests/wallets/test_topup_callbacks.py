"""Callbacks at POST /payments/<name>/callback: verified before anything is believed, credited
exactly once, never moved backwards; bad input gets a clear 4xx and writes nothing."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.factories import UserFactory
from tests.wallets.fakes import API_KEY, MERCHANT
from wallets.models import LedgerEntry, PaymentProcessor, TopUp, TopUpCallback
from wallets.processors.sandbox import SIGNATURE_HEADER, signature
from wallets.selectors import wallets_out_of_balance
from wallets.topup_services import topup_create, topup_reconcile

pytestmark = pytest.mark.django_db


def invoice_of_20(pay_currency: str) -> TopUp:
    """A customer's invoice of 20.00 at Cryptomus, to be paid in ``pay_currency``."""
    return topup_create(
        user=UserFactory(),
        amount="20.00",
        processor_name="cryptomus",
        pay_currency=pay_currency,
        base_url="http://testserver",
    )


@pytest.fixture
def top_up(cryptomus) -> TopUp:
    return invoice_of_20("usdt")


def deliver(client, processor: str, body: bytes, headers: dict, **extra):
    return client.post(
        reverse("payments-callback", args=[processor]),
        data=body,
        content_type="application/json",
        headers={k: v for k, v in headers.items() if k != "Content-Type"},
        **extra,
    )


def pay(client, fake, top_up, status, paid=None, txid=None):
    fake.pay(top_up.processor_ref, status, paid=paid, txid=txid)
    return deliver(client, "cryptomus", *fake.callback(top_up.processor_ref))


def credited(top_up: TopUp) -> Decimal:
    return sum(
        (
            e.amount
            for e in LedgerEntry.objects.filter(reference_kind="top_up", reference_id=top_up.pk)
        ),
        Decimal(0),
    )


def assert_books_balance():
    assert list(wallets_out_of_balance()) == []
    call_command("check_ledger")


def test_a_paid_callback_credits_once_and_a_replay_changes_nothing(client, fake_cryptomus, top_up):
    first = pay(client, fake_cryptomus, top_up, "paid", "20.00000000", "6f0d9c83")
    replay = deliver(client, "cryptomus", *fake_cryptomus.callback(top_up.processor_ref))

    top_up.refresh_from_db()
    assert (first.status_code, first.content, replay.status_code) == (200, b"ok", 200)
    assert (top_up.status, top_up.amount_credited, top_up.tx_hashes) == ("paid", 20, "6f0d9c83")
    assert top_up.wallet.balance == Decimal("20.00") and credited(top_up) == Decimal("20.00")
    assert top_up.callbacks.count() == 2  # both kept for support
    assert_books_balance()


def test_paid_then_a_late_confirming_never_moves_backwards(client, fake_cryptomus, top_up):
    pay(client, fake_cryptomus, top_up, "paid", "20.00")
    late = pay(client, fake_cryptomus, top_up, "confirm_check")

    top_up.refresh_from_db()
    assert late.status_code == 200
    assert (top_up.status, top_up.amount_credited) == ("paid", Decimal("20.00"))


def test_partial_then_full_credits_only_the_difference(client, fake_cryptomus, top_up):
    pay(client, fake_cryptomus, top_up, "wrong_amount_waiting", "7.50")
    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("partially_paid", Decimal("7.50"))

    pay(client, fake_cryptomus, top_up, "paid", "20.00")

    top_up.refresh_from_db()
    entries = LedgerEntry.objects.filter(reference_kind="top_up", reference_id=top_up.pk)
    assert sorted(e.amount for e in entries) == [Decimal("7.50"), Decimal("12.50")]
    assert (top_up.status, top_up.wallet.balance) == ("paid", Decimal("20.00"))
    assert_books_balance()


def test_expired_then_paid_reopens_as_paid_and_credits(client, fake_cryptomus, top_up):
    pay(client, fake_cryptomus, top_up, "cancel")
    top_up.refresh_from_db()
    assert top_up.status == "expired" and top_up.wallet.balance == 0

    pay(client, fake_cryptomus, top_up, "paid", "20.00")

    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("paid", Decimal("20.00"))


def test_overpaid_credits_what_was_received_rounded_down_to_cents(client, fake_cryptomus, top_up):
    pay(client, fake_cryptomus, top_up, "paid_over", "21.987654321987")

    top_up.refresh_from_db()
    assert (top_up.status, top_up.amount_received) == ("overpaid", Decimal("21.9876"))
    assert top_up.amount_credited == Decimal("21.98") == top_up.wallet.balance


def test_paid_in_another_coin_credits_its_value_in_the_invoices_currency(
    client, fake_cryptomus, cryptomus
):
    top_up = invoice_of_20("btc")
    # 0.0002 BTC at 50 000 USD is 10.00 of the 20.00 asked; 0.0005 BTC in all, 25.00
    pay(client, fake_cryptomus, top_up, "wrong_amount", "0.0002")
    top_up.refresh_from_db()
    assert (top_up.status, top_up.wallet.balance) == ("partially_paid", Decimal("10.00"))

    pay(client, fake_cryptomus, top_up, "paid_over", "0.0005")

    top_up.refresh_from_db()
    assert (top_up.status, top_up.amount_credited) == ("overpaid", Decimal("25.00"))
    assert top_up.wallet.balance == Decimal("25.00") == credited(top_up)
    assert_books_balance()


def test_a_bad_signature_is_refused_counted_and_writes_nothing(client, fake_cryptomus, top_up):
    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00")
    body, headers = fake_cryptomus.callback(top_up.processor_ref, api_key="guessed")

    response = deliver(client, "cryptomus", body, headers)
    tampered = deliver(
        client,
        "cryptomus",
        fake_cryptomus.callback(top_up.processor_ref)[0].replace(b'"20.00"', b'"2000.00"'),
        headers,
    )

    processor = PaymentProcessor.objects.get(name="cryptomus")
    assert (response.status_code, tampered.status_code) == (401, 401)
    assert response.json()["error"]["code"] == "BAD_SIGNATURE"
    assert processor.rejected_callbacks == 2 and processor.last_rejected_at is not None
    assert TopUpCallback.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_a_callback_for_another_processors_invoice_is_not_found(client, fake_cryptomus, top_up):
    # given: a second account whose key the attacker holds, signing the first one's invoice
    PaymentProcessor.objects.create(
        name="other", kind="heleket", merchant=MERCHANT, api_key=API_KEY, base_url="http://x"
    )
    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00")

    response = deliver(client, "other", *fake_cryptomus.callback(top_up.processor_ref))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "INVOICE_NOT_FOUND"
    assert TopUpCallback.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_unknown_processor_is_404(client, fake_cryptomus, top_up):
    response = deliver(client, "nobody", *fake_cryptomus.callback(top_up.processor_ref))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "PROCESSOR_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json at all", 401), (b"[1, 2]", 401), (b"", 401), (b"x" * 70_000, 413)],
    ids=["non-json", "array", "empty", "huge"],
)
def test_unreadable_bodies_get_a_4xx_and_write_nothing(client, top_up, body, status):
    response = deliver(client, "cryptomus", body, {})

    assert response.status_code == status
    assert TopUpCallback.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_a_negative_amount_from_the_processor_is_refused(client, fake_cryptomus, top_up):
    response = pay(client, fake_cryptomus, top_up, "paid", "-20.00")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_CALLBACK"
    assert LedgerEntry.objects.count() == 0


def test_a_report_in_another_currency_is_refused(client, fake_cryptomus, top_up):
    fake_cryptomus.invoices[top_up.processor_ref]["currency"] = "EUR"

    response = pay(client, fake_cryptomus, top_up, "paid", "20.00")

    assert response.status_code == 400
    assert TopUpCallback.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_callbacks_from_outside_the_allow_list_are_forbidden(client, fake_cryptomus, top_up):
    PaymentProcessor.objects.filter(name="cryptomus").update(
        allowed_ips="91.227.144.54\n10.0.0.0/8"
    )
    fake_cryptomus.pay(top_up.processor_ref, "paid", paid="20.00")
    body, headers = fake_cryptomus.callback(top_up.processor_ref)

    outside = deliver(client, "cryptomus", body, headers)  # the test client is 127.0.0.1
    inside = deliver(client, "cryptomus", body, headers, REMOTE_ADDR="10.1.2.3")

    assert (outside.status_code, inside.status_code) == (403, 200)
    assert PaymentProcessor.objects.get(name="cryptomus").rejected_callbacks == 1


def test_nowpayments_ipn_end_to_end(client, fake_nowpayments, nowpayments):
    top_up = topup_create(
        user=UserFactory(),
        amount="10",
        processor_name="nowpayments",
        pay_currency="BTC",
        base_url="http://testserver",
    )
    payment_id = fake_nowpayments.pay(top_up.processor_ref, "finished", actually_paid=0.0004)

    response = deliver(client, "nowpayments", *fake_nowpayments.callback(payment_id))

    top_up.refresh_from_db()
    assert response.status_code == 200 and top_up.pay_currency == "btc"
    assert (top_up.status, top_up.wallet.balance, top_up.processor_payment_id) == (
        "paid",
        Decimal("10.00"),
        payment_id,
    )


def test_btcpay_webhook_end_to_end(client, fake_btcpay, btcpay):
    top_up = topup_create(
        user=UserFactory(),
        amount="10",
        processor_name="btcpay",
        pay_currency="btc",
        base_url="http://testserver",
    )
    txid = fake_btcpay.pay(top_up.processor_ref, "New", btc="0.0001", additional="PaidPartial")

    response = deliver(
        client, "btcpay", *fake_btcpay.callback(top_up.processor_ref, "InvoiceReceivedPayment")
    )

    top_up.refresh_from_db()
    assert response.status_code == 200
    assert (top_up.status, top_up.wallet.balance, top_up.tx_hashes) == (
        "partially_paid",
        Decimal("5.00"),
        txid,
    )


def test_first_top_up_bonus_is_its_own_entry_and_only_once(
    client, settings, fake_cryptomus, top_up
):
    settings.SMSBOX_TOPUP_FIRST_BONUS_PERCENT = Decimal("10")
    pay(client, fake_cryptomus, top_up, "paid", "20.00")
    second = topup_create(
        user=top_up.user,
        amount="5.00",
        processor_name="cryptomus",
        pay_currency="USDT",
        base_url="http://testserver",
    )
    pay(client, fake_cryptomus, second, "paid", "5.00")

    bonuses = LedgerEntry.objects.filter(kind="bonus")
    assert [(b.amount, b.reference_id) for b in bonuses] == [(Decimal("2.00"), str(top_up.pk))]
    assert top_up.wallet.__class__.objects.get(pk=top_up.wallet_id).balance == Decimal("27.00")
    assert_books_balance()


def test_no_bonus_by_default(client, fake_cryptomus, top_up):
    pay(client, fake_cryptomus, top_up, "paid", "20.00")

    assert not LedgerEntry.objects.filter(kind="bonus").exists()


def test_kept_callbacks_cannot_be_changed_or_deleted(client, fake_cryptomus, top_up):
    from django.db import DatabaseError, transaction

    pay(client, fake_cryptomus, top_up, "paid", "20.00")
    kept = TopUpCallback.objects.get()

    with pytest.raises(DatabaseError), transaction.atomic():
        TopUpCallback.objects.filter(pk=kept.pk).update(body="{}")
    with pytest.raises(DatabaseError), transaction.atomic():
        TopUpCallback.objects.filter(pk=kept.pk).delete()


def test_a_replayed_overpayment_credits_what_was_received_and_not_a_cent_more(
    client, fake_cryptomus, top_up
):
    # given: a payment whose fourth decimal rounds up where the fifth is dropped
    first = pay(client, fake_cryptomus, top_up, "paid_over", "20.999999")
    # when: the processor repeats it, and reconciliation asks about it again
    replay = deliver(client, "cryptomus", *fake_cryptomus.callback(top_up.processor_ref))
    topup_reconcile(top_up_id=top_up.pk)

    top_up.refresh_from_db()
    assert (first.status_code, replay.status_code) == (200, 200)
    assert top_up.amount_received == Decimal("20.9999")
    assert top_up.amount_credited == Decimal("20.99") == top_up.wallet.balance == credited(top_up)
    assert_books_balance()


@pytest.mark.parametrize("paid", ["0", "0.00", "0.00004", "-0.01"])
def test_a_paid_callback_for_nothing_is_refused_and_credits_nothing(
    client, fake_cryptomus, top_up, paid
):
    response = pay(client, fake_cryptomus, top_up, "paid", paid)

    top_up.refresh_from_db()
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_CALLBACK"
    assert (top_up.status, top_up.amount_received, top_up.amount_credited) == ("pending", 0, 0)
    assert LedgerEntry.objects.count() == 0 and TopUpCallback.objects.count() == 0


@pytest.mark.parametrize("status", ["paid", "partial"])
def test_a_sandbox_payment_of_nothing_is_refused(client, sandbox, status):
    top_up = topup_create(
        user=UserFactory(),
        amount="12.00",
        processor_name="sandbox",
        pay_currency="BTC",
        base_url="http://testserver",
    )
    body = json.dumps(
        {
            "invoice": top_up.processor_ref,
            "status": status,
            "paid": "0.00",
            "currency": top_up.currency,
        }
    ).encode()

    response = deliver(client, "sandbox", body, {SIGNATURE_HEADER: signature(body, sandbox.secret)})

    top_up.refresh_from_db()
    assert response.status_code == 400
    assert (top_up.status, top_up.amount_credited) == ("pending", 0)
    assert LedgerEntry.objects.count() == 0


@pytest.mark.parametrize("paid", ["19.999999", "19.995", "19.60"])
def test_paid_in_full_credits_what_was_asked_whatever_the_converted_figure(
    client, fake_cryptomus, top_up, paid
):
    # given: the processor says "paid" (in full, within its tolerance) with a figure that,
    # converted to the invoice's currency, falls short of the 20.00 asked
    response = pay(client, fake_cryptomus, top_up, "paid", paid)

    top_up.refresh_from_db()
    assert response.status_code == 200
    assert (top_up.status, top_up.amount_credited) == ("paid", Decimal("20.00"))
    assert top_up.wallet.balance == Decimal("20.00") == credited(top_up)
    assert_books_balance()
