"""Each processor module against a fake processor speaking its real protocol over HTTP on
localhost: the fake refuses a request whose signing is wrong, and signs its callbacks as the
real processor does."""

from decimal import Decimal

import pytest

from tests.wallets.fakes import API_KEY, SECRET
from wallets.processors import (
    BadSignature,
    InvoiceRequest,
    ProcessorRefused,
    ProcessorUnavailable,
    encoding,
    processor_for,
)

pytestmark = pytest.mark.django_db


def invoice_request(**overrides) -> InvoiceRequest:
    fields = {
        "amount": Decimal("25.00"),
        "currency": "USD",
        "pay_currency": "USDT",
        "order_id": "smsbox-0123456789abcdef",
        "callback_url": "https://shop.example.com/payments/x/callback",
        "return_url": "https://shop.example.com/wallet/top-ups/1/",
        "minutes": 60,
        "description": "Top-up #1",
    }
    return InvoiceRequest(**{**fields, **overrides})


# --- the JSON the signatures are computed over -------------------------------------------------
def test_php_json_escapes_every_slash_keeps_unicode_and_writes_numbers_as_php():
    # given: PHP's json_encode(json_decode($body, true), JSON_UNESCAPED_UNICODE) is, byte for
    # byte, {"url":"https:\/\/a.example\/b","name":"пополнение","amount":1.5,"n":null,"ok":true}
    body = b'{"url":"https://a.example/b","name":"\\u043f\\u043e\\u043f\\u043e\\u043b\\u043d\\u0435\\u043d\\u0438\\u0435","amount":1.50,"n":null,"ok":true}'

    text = encoding.php_json(encoding.loads(body))

    assert text == (
        '{"url":"https:\\/\\/a.example\\/b","name":"пополнение","amount":1.5,"n":null,"ok":true}'
    )


def test_js_sorted_json_sorts_every_level_and_writes_numbers_as_javascript():
    body = b'{"b": 1, "a": {"z": 0.0000001, "y": "x/y"}, "c": [2, {"e": 1, "d": 10}]}'

    text = encoding.js_sorted_json(encoding.loads(body))

    assert text == '{"a":{"y":"x/y","z":1e-7},"b":1,"c":[2,{"d":10,"e":1}]}'


# --- Cryptomus and Heleket -----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["cryptomus", "heleket"])
def test_cryptomus_protocol_invoice_signed_as_the_processor_checks(fake_cryptomus, cryptomus, kind):
    cryptomus.kind = kind

    invoice = processor_for(cryptomus).create_invoice(invoice_request())

    sent = fake_cryptomus.requests[-1]
    assert sent.path == "/v1/payment"
    assert sent.json()["amount"] == "25.00" and sent.json()["to_currency"] == "USDT"
    assert b"https:\\/\\/shop.example.com" in sent.body  # sent as PHP writes it
    assert invoice.ref in fake_cryptomus.invoices
    assert invoice.payment_url == f"https://pay.cryptomus.com/pay/{invoice.ref}"
    assert invoice.expires_at is not None and invoice.expires_at.year == 2030


def test_cryptomus_with_a_wrong_key_is_refused_by_the_processor(fake_cryptomus, cryptomus):
    cryptomus.api_key = "not-the-key"

    with pytest.raises(ProcessorRefused, match="401"):
        processor_for(cryptomus).create_invoice(invoice_request())


def test_cryptomus_callback_signed_by_the_processor_verifies_and_reads(fake_cryptomus, cryptomus):
    client = processor_for(cryptomus)
    invoice = client.create_invoice(invoice_request())
    fake_cryptomus.pay(invoice.ref, "paid", paid="25.00000000", txid="6f0d9c8374db57ca")
    body, headers = fake_cryptomus.callback(invoice.ref)

    report = client.read_callback(client.verify_callback(body=body, headers=headers))

    assert (report.ref, report.status, report.amount_received) == (
        invoice.ref,
        "paid",
        Decimal("25.00000000"),
    )
    assert report.tx_hashes == ("6f0d9c8374db57ca",) and report.currency == "USD"


@pytest.mark.parametrize(
    ("currency", "coin", "paid", "received"),
    [
        ("USDT", "USDT", "25.5", Decimal("25.5")),  # paid in the invoice's currency
        ("USD", "USDT", "25.5", Decimal("25.5")),  # its value in USD (1 USDT = 1 USD here)
        ("USD", "BTC", "0.0005", Decimal("25.0000")),  # 0.0005 BTC at 50 000 USD
        ("EUR", "BTC", "0.0005", None),  # no figure in EUR: never 0.0005 taken for euros
    ],
)
def test_cryptomus_amount_received_is_in_the_invoices_currency(
    fake_cryptomus, cryptomus, currency, coin, paid, received
):
    client = processor_for(cryptomus)
    invoice = client.create_invoice(invoice_request())
    fake_cryptomus.invoices[invoice.ref].update(currency=currency, payer_currency=coin)
    fake_cryptomus.pay(invoice.ref, "wrong_amount", paid=paid)
    body, headers = fake_cryptomus.callback(invoice.ref)

    report = client.read_callback(client.verify_callback(body=body, headers=headers))

    assert (report.currency, report.amount_received) == (currency, received)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b'"25.00000000"', b'"2500.00000000"', 1),
        lambda body: body.replace(b'"sign":"', b'"sign":"0', 1)[:-2] + b'"}',
        lambda body: body.replace(b',"sign":', b',"signature":', 1),
        lambda body: b"not json",
    ],
    ids=["amount", "sign", "no-sign", "not-json"],
)
def test_cryptomus_tampered_callback_is_refused(fake_cryptomus, cryptomus, tamper):
    client = processor_for(cryptomus)
    invoice = client.create_invoice(invoice_request())
    fake_cryptomus.pay(invoice.ref, "paid", paid="25.00000000")
    body, headers = fake_cryptomus.callback(invoice.ref)

    with pytest.raises(BadSignature):
        client.verify_callback(body=tamper(body), headers=headers)


def test_cryptomus_callback_signed_with_another_key_is_refused(fake_cryptomus, cryptomus):
    client = processor_for(cryptomus)
    invoice = client.create_invoice(invoice_request())
    body, headers = fake_cryptomus.callback(invoice.ref, api_key="another-merchant-key")

    with pytest.raises(BadSignature):
        client.verify_callback(body=body, headers=headers)


@pytest.mark.parametrize(
    ("coin", "surcharge", "paid", "received"),
    [
        ("BTC", 0, "0.0002", Decimal("10.00")),  # 0.0002 of the 0.0004 BTC asked
        ("USDT", -5, "10.50", Decimal("10.00")),  # half of 21.00: 20.00 and the coin's 5 %
    ],
)
def test_cryptomus_payment_info_reads_the_share_of_what_the_payer_was_asked(
    fake_cryptomus, cryptomus, coin, surcharge, paid, received
):
    client = processor_for(cryptomus)
    invoice = client.create_invoice(invoice_request())
    fake_cryptomus.invoices[invoice.ref].update(payer_currency=coin)
    fake_cryptomus.pay(invoice.ref, "wrong_amount", paid=paid)
    fake_cryptomus.discounts[coin] = surcharge

    report = client.query(ref=invoice.ref)

    assert (report.status, report.amount_received) == ("partially_paid", received)


def test_cryptomus_payment_info_answers_the_status(fake_cryptomus, cryptomus):
    client = processor_for(cryptomus)
    invoice = client.create_invoice(invoice_request())
    fake_cryptomus.pay(invoice.ref, "wrong_amount", paid="10.00")

    report = client.query(ref=invoice.ref)

    assert fake_cryptomus.requests[-1].path == "/v1/payment/info"
    assert (report.status, report.amount_received) == ("partially_paid", Decimal("10.00"))


# --- NOWPayments ---------------------------------------------------------------------------------
def test_nowpayments_invoice_with_the_api_key(fake_nowpayments, nowpayments):
    invoice = processor_for(nowpayments).create_invoice(invoice_request(pay_currency="btc"))

    sent = fake_nowpayments.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/invoice")
    assert sent.json()["price_amount"] == 25.0 and sent.json()["price_currency"] == "usd"
    assert sent.json()["ipn_callback_url"] == "https://shop.example.com/payments/x/callback"
    assert invoice.payment_url == f"https://nowpayments.io/payment/?iid={invoice.ref}"


def test_nowpayments_wrong_key_is_refused(fake_nowpayments, nowpayments):
    nowpayments.api_key = "wrong"

    with pytest.raises(ProcessorRefused, match="Invalid api key"):
        processor_for(nowpayments).create_invoice(invoice_request())


def test_nowpayments_ipn_verifies_reads_and_the_payment_can_be_asked(fake_nowpayments, nowpayments):
    client = processor_for(nowpayments)
    invoice = client.create_invoice(invoice_request(pay_currency="btc"))
    payment_id = fake_nowpayments.pay(invoice.ref, "partially_paid", actually_paid=0.0001)
    body, headers = fake_nowpayments.callback(payment_id)

    report = client.read_callback(client.verify_callback(body=body, headers=headers))
    asked = client.query(ref=invoice.ref, payment_id=payment_id)

    # 0.0001 of the 0.0004 BTC asked: a quarter of 25.00
    assert (report.ref, report.status, report.amount_received) == (
        invoice.ref,
        "partially_paid",
        Decimal("6.25"),
    )
    assert report.payment_id == payment_id and report.tx_hashes[0].startswith("9f2c")
    assert fake_nowpayments.requests[-1].path == f"/v1/payment/{payment_id}"
    assert (asked.status, asked.amount_received) == (report.status, report.amount_received)


def test_nowpayments_ipn_with_a_changed_field_or_wrong_secret_is_refused(
    fake_nowpayments, nowpayments
):
    client = processor_for(nowpayments)
    invoice = client.create_invoice(invoice_request(pay_currency="btc"))
    payment_id = fake_nowpayments.pay(invoice.ref, "finished", actually_paid=0.0004)
    body, headers = fake_nowpayments.callback(payment_id)
    _, foreign = fake_nowpayments.callback(payment_id, secret="other-secret")

    with pytest.raises(BadSignature):
        client.verify_callback(body=body.replace(b'"finished"', b'"failed"'), headers=headers)
    with pytest.raises(BadSignature):
        client.verify_callback(body=body, headers=foreign)
    with pytest.raises(BadSignature):
        client.verify_callback(body=body, headers={})


def test_nowpayments_without_a_payment_has_nothing_to_say(fake_nowpayments, nowpayments):
    report = processor_for(nowpayments).query(ref="4522625843")

    assert report.status is None and fake_nowpayments.requests == []


# --- BTCPay Server -------------------------------------------------------------------------------
def test_btcpay_invoice_with_the_token(fake_btcpay, btcpay):
    invoice = processor_for(btcpay).create_invoice(invoice_request(pay_currency="BTC"))

    sent = fake_btcpay.requests[-1]
    assert sent.path.endswith("/invoices") and sent.headers["Authorization"] == f"token {API_KEY}"
    assert sent.json()["checkout"] == {
        "redirectURL": "https://shop.example.com/wallet/top-ups/1/",
        "expirationMinutes": 60,
        "paymentMethods": ["BTC"],
    }
    assert sent.json()["metadata"]["orderId"] == "smsbox-0123456789abcdef"
    assert invoice.payment_url == f"{fake_btcpay.url}/i/{invoice.ref}"


def test_btcpay_webhook_verifies_then_reads_the_invoice_and_its_transactions(fake_btcpay, btcpay):
    client = processor_for(btcpay)
    invoice = client.create_invoice(invoice_request(pay_currency="BTC"))
    txid = fake_btcpay.pay(invoice.ref, "Settled", btc="0.00060000", additional="PaidOver")
    body, headers = fake_btcpay.callback(invoice.ref)

    report = client.read_callback(client.verify_callback(body=body, headers=headers))

    assert (report.status, report.amount_received) == ("overpaid", Decimal("30.00"))
    assert report.tx_hashes == (txid,)
    assert [r.path.rsplit("/", 1)[-1] for r in fake_btcpay.requests[-2:]] == [
        invoice.ref,
        "payment-methods",
    ]


def test_btcpay_webhook_with_a_wrong_signature_is_refused(fake_btcpay, btcpay):
    client = processor_for(btcpay)
    invoice = client.create_invoice(invoice_request(pay_currency="BTC"))
    body, headers = fake_btcpay.callback(invoice.ref, secret="not-our-secret")

    with pytest.raises(BadSignature):
        client.verify_callback(body=body, headers=headers)
    with pytest.raises(BadSignature):
        client.verify_callback(body=body + b" ", headers=fake_btcpay.callback(invoice.ref)[1])


def test_btcpay_settled_is_paid_in_full(fake_btcpay, btcpay):
    client = processor_for(btcpay)
    invoice = client.create_invoice(invoice_request(pay_currency="BTC"))
    fake_btcpay.pay(invoice.ref, "Settled", btc="0.00049999")

    report = client.query(ref=invoice.ref)

    assert (report.status, report.amount_received) == ("paid", Decimal("25.00"))


def test_btcpay_unreachable_is_unavailable(btcpay, fake_btcpay):
    fake_btcpay.stop()

    with pytest.raises(ProcessorUnavailable):
        processor_for(btcpay).query(ref="nope")


def test_sandbox_callback_signed_with_its_secret(sandbox):
    from wallets.processors.sandbox import sandbox_act

    client = processor_for(sandbox)
    invoice = client.create_invoice(invoice_request())
    _, body, headers = sandbox_act(ref=invoice.ref, action="pay_less")

    report = client.read_callback(client.verify_callback(body=body, headers=headers))

    assert (report.status, report.amount_received) == ("partially_paid", Decimal("12.50"))
    assert client.query(ref=invoice.ref).amount_received == Decimal("12.50")
    with pytest.raises(BadSignature):
        client.verify_callback(body=body, headers={"X-Sandbox-Signature": SECRET})
