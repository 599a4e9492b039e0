"""Signature vectors: for each processor, a body as it arrives and the signature the processor
puts on it, computed here independently of ``wallets.processors`` from the string the
processor's documentation says it signs (written out by hand below), then checked through the
processor module's ``verify_callback``. A body whose signed text differs by one byte is refused.
"""

import base64
import hashlib
import hmac
import json
import shutil
import subprocess

import pytest

from wallets.models import PaymentProcessor
from wallets.processors import BadSignature, processor_for

KEY = "uQ4LFVvO9H4fdqxv8uB0Ng4nCZQxSPVGYzK1aT0jKA8r2pVXnqQrOn1z"
MERCHANT = "c26b80a8-9549-4b57-8ae3-8d8e3e2cfd6b"
IPN_SECRET = "vK3qZ0fTQhXhJqS4Vn0m2jg7yD8oV1aB"
WEBHOOK_SECRET = "3Ae7pDLzbKyRoXQBbBuAdz4LWvVc"


def processor(kind: str, **fields) -> object:
    return processor_for(PaymentProcessor(name=kind, kind=kind, **fields))


# --- Cryptomus and Heleket: md5(base64(json_encode($data, JSON_UNESCAPED_UNICODE)) . $key) -----
# The body as a client library sends it: spaces, "/" unescaped, Cyrillic as \u escapes, a
# float with a trailing zero; "sign" in the middle of the object.
CRYPTOMUS_BODY = (
    '{"type": "payment", "uuid": "62f88b36-a9d5-4fa6-aa26-e040c3dbf26d", '
    '"order_id": "smsbox-97a75bf8eda5cca4", "amount": "20.00", "payment_amount": "20.00", '
    '"merchant_amount": 19.60, "is_final": true, "status": "paid", "sign": "%s", '
    '"from": null, "network": "tron", "currency": "USD", "payer_currency": "USDT", '
    '"additional_data": "\\u043f\\u043e\\u043f\\u043e\\u043b\\u043d\\u0435\\u043d\\u0438\\u0435 / '
    'top-up", "url": "https://pay.cryptomus.com/pay/62f88b36", "txid": "6f0d9c8374db57ca"}'
)
# What PHP's json_encode writes for it once decoded and "sign" unset: no spaces, every "/"
# as "\/", Cyrillic unescaped, 19.60 as the float 19.6.
CRYPTOMUS_SIGNED = (
    '{"type":"payment","uuid":"62f88b36-a9d5-4fa6-aa26-e040c3dbf26d",'
    '"order_id":"smsbox-97a75bf8eda5cca4","amount":"20.00","payment_amount":"20.00",'
    '"merchant_amount":19.6,"is_final":true,"status":"paid",'
    '"from":null,"network":"tron","currency":"USD","payer_currency":"USDT",'
    '"additional_data":"пополнение \\/ top-up",'
    '"url":"https:\\/\\/pay.cryptomus.com\\/pay\\/62f88b36",'
    '"txid":"6f0d9c8374db57ca"}'
)


def cryptomus_sign(text: str, key: str = KEY) -> str:
    return hashlib.md5(base64.b64encode(text.encode()) + key.encode()).hexdigest()  # noqa: S324


@pytest.mark.parametrize("kind", ["cryptomus", "heleket"])
def test_cryptomus_protocol_callback_vector(kind):
    body = (CRYPTOMUS_BODY % cryptomus_sign(CRYPTOMUS_SIGNED)).encode()

    payload = processor(kind, merchant=MERCHANT, api_key=KEY).verify_callback(body=body, headers={})

    assert payload["uuid"] == "62f88b36-a9d5-4fa6-aa26-e040c3dbf26d" and "sign" not in payload


@pytest.mark.parametrize(
    "wrong",
    [
        CRYPTOMUS_SIGNED.replace("\\/", "/"),  # slashes unescaped: not what PHP signs
        CRYPTOMUS_SIGNED.replace("19.6", "19.60"),  # the number as sent, not as PHP writes it
        CRYPTOMUS_SIGNED.replace("пополнение", "\\u043f\\u043e\\u043f\\u043e\\u043b\\u043d"),
    ],
    ids=["slashes", "number-text", "unicode-escaped"],
)
def test_cryptomus_signature_over_another_serialisation_is_refused(wrong):
    body = (CRYPTOMUS_BODY % cryptomus_sign(wrong)).encode()

    with pytest.raises(BadSignature):
        processor("cryptomus", merchant=MERCHANT, api_key=KEY).verify_callback(
            body=body, headers={}
        )


def test_cryptomus_request_signature_vector():
    # md5(base64('{"amount":"15","currency":"USD","order_id":"1"}') . key), worked by hand:
    # base64 = eyJhbW91bnQiOiIxNSIsImN1cnJlbmN5IjoiVVNEIiwib3JkZXJfaWQiOiIxIn0=
    from wallets.processors.cryptomus import sign

    text = '{"amount":"15","currency":"USD","order_id":"1"}'
    encoded = "eyJhbW91bnQiOiIxNSIsImN1cnJlbmN5IjoiVVNEIiwib3JkZXJfaWQiOiIxIn0="

    assert base64.b64encode(text.encode()).decode() == encoded
    assert sign(text, KEY) == hashlib.md5((encoded + KEY).encode()).hexdigest()  # noqa: S324


# --- NOWPayments: HMAC-SHA512(IPN secret, JSON.stringify(sortObject(body))) --------------------
NOWPAYMENTS_BODY = (
    b'{"payment_id": 5077125051, "invoice_id": 4522625843, "payment_status": "finished", '
    b'"price_amount": 10.0, "price_currency": "usd", "pay_amount": 0.10, '
    b'"actually_paid": 1E-7, "actually_paid_at_fiat": 0.0, '
    b'"order_description": "\\u043f\\u043e\\u043f\\u043e\\u043b\\u043d\\u0435'
    b'\\u043d\\u0438\\u0435 / top-up", '
    b'"fee": {"serviceFee": 0, "currency": "btc", "depositFee": 0.000010}, '
    b'"payin_hash": "9f2c00", "outcome_amount": 1.5e21, "payment_extra_ids": null}'
)
# What JavaScript writes for it: keys sorted at every level, 10.0 → 10, 0.10 → 0.1,
# 1E-7 → 1e-7, 0.000010 → 0.00001, 1.5e21 → 1.5e+21; Cyrillic and "/" as they are.
NOWPAYMENTS_SIGNED = (
    '{"actually_paid":1e-7,"actually_paid_at_fiat":0,'
    '"fee":{"currency":"btc","depositFee":0.00001,"serviceFee":0},'
    '"invoice_id":4522625843,"order_description":"пополнение / top-up",'
    '"outcome_amount":1.5e+21,"pay_amount":0.1,"payin_hash":"9f2c00",'
    '"payment_extra_ids":null,"payment_id":5077125051,"payment_status":"finished",'
    '"price_amount":10,"price_currency":"usd"}'
)


def nowpayments_sig(text: str, secret: str = IPN_SECRET) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def nowpayments() -> object:
    return processor("nowpayments", api_key=KEY, secret=IPN_SECRET)


def test_nowpayments_ipn_vector():
    headers = {"x-nowpayments-sig": nowpayments_sig(NOWPAYMENTS_SIGNED)}

    payload = nowpayments().verify_callback(body=NOWPAYMENTS_BODY, headers=headers)

    assert str(payload["payment_id"]) == "5077125051"


@pytest.mark.parametrize(
    "wrong",
    [
        NOWPAYMENTS_SIGNED.replace('"price_amount":10,', '"price_amount":10.0,'),
        NOWPAYMENTS_SIGNED.replace("0.1,", "0.10,"),
        NOWPAYMENTS_SIGNED.replace("пополнение", "\\u043f\\u043e\\u043f\\u043e\\u043b\\u043d"),
        NOWPAYMENTS_SIGNED.replace(" / ", " \\/ "),
        json.dumps(json.loads(NOWPAYMENTS_SIGNED), sort_keys=True),  # with spaces
    ],
    ids=["10.0", "0.10", "unicode-escaped", "slash-escaped", "spaces"],
)
def test_nowpayments_signature_over_another_serialisation_is_refused(wrong):
    with pytest.raises(BadSignature):
        nowpayments().verify_callback(
            body=NOWPAYMENTS_BODY, headers={"x-nowpayments-sig": nowpayments_sig(wrong)}
        )


SORT_OBJECT_JS = """
function sortObject(obj) {
  return Object.keys(obj).sort().reduce((result, key) => {
    result[key] = (obj[key] && typeof obj[key] === 'object') ? sortObject(obj[key]) : obj[key]
    return result
  }, {})
}
let body = require('fs').readFileSync(0, 'utf8')
process.stdout.write(JSON.stringify(sortObject(JSON.parse(body))))
"""
TRICKY_BODIES = [
    NOWPAYMENTS_BODY,
    b'{"b": 1.00, "a": -0.0, "10": "x", "9": "y", "c": 123456789012345678901234}',
    b'{"amounts": [1.0, {"z": 2.50, "a": "\\u00e9\\u2028"}], "big": 12345678901234567890}',
    b'{"n": 0.000001, "m": 1e-6, "k": 1e21, "j": 100e18, "quote": "a\\"b\\\\c\\n\\u0001"}',
]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the documented JS")
@pytest.mark.parametrize("body", TRICKY_BODIES, ids=["ipn", "keys", "arrays", "numbers"])
def test_nowpayments_matches_the_documented_javascript_byte_for_byte(body):
    signed = subprocess.run(
        ["node", "-e", SORT_OBJECT_JS], input=body, capture_output=True, check=True
    ).stdout.decode()

    payload = nowpayments().verify_callback(
        body=body, headers={"x-nowpayments-sig": nowpayments_sig(signed)}
    )

    assert payload is not None


# --- BTCPay Server: BTCPay-Sig: sha256=HMAC-SHA256(webhook secret, raw body) --------------------
BTCPAY_BODY = (
    b'{\n  "deliveryId": "Lm4NHP4fEEVTYPH3HTqiTm",\n  "webhookId": "8bdaQcVpLKvMoNaUMXPsfQ",\n'
    b'  "originalDeliveryId": "Lm4NHP4fEEVTYPH3HTqiTm",\n  "isRedelivery": false,\n'
    b'  "type": "InvoiceSettled",\n  "timestamp": 1767261600,\n'
    b'  "storeId": "9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776",\n'
    b'  "invoiceId": "QX5EpWgSkmHe6gJwd3JAch",\n  "manuallyMarked": false\n}'
)


def btcpay() -> object:
    return processor(
        "btcpay",
        base_url="https://btcpay.example.com/api/v1",
        store_id="9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776",
        api_key=KEY,
        secret=WEBHOOK_SECRET,
    )


def test_btcpay_webhook_vector():
    digest = hmac.new(WEBHOOK_SECRET.encode(), BTCPAY_BODY, hashlib.sha256).hexdigest()

    payload = btcpay().verify_callback(body=BTCPAY_BODY, headers={"BTCPay-Sig": f"sha256={digest}"})

    assert payload["invoiceId"] == "QX5EpWgSkmHe6gJwd3JAch"


def test_btcpay_signature_is_over_the_raw_bytes_not_the_json():
    compact = json.dumps(json.loads(BTCPAY_BODY), separators=(",", ":")).encode()
    digest = hmac.new(WEBHOOK_SECRET.encode(), compact, hashlib.sha256).hexdigest()

    with pytest.raises(BadSignature):
        btcpay().verify_callback(body=BTCPAY_BODY, headers={"btcpay-sig": f"sha256={digest}"})


def test_btcpay_signature_without_its_prefix_is_refused():
    digest = hmac.new(WEBHOOK_SECRET.encode(), BTCPAY_BODY, hashlib.sha256).hexdigest()

    with pytest.raises(BadSignature):
        btcpay().verify_callback(body=BTCPAY_BODY, headers={"BTCPay-Sig": digest})
