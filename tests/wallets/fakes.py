"""Fake payment processors for the adapter tests: real HTTP servers on localhost speaking each
processor's protocol, checking our request signing as the real service does, and producing
callbacks signed exactly as the real one signs them.

Each fake keeps its invoices; a test moves one (``pay``) and asks for the callback the
processor would send about it (``callback``), as raw body bytes and headers.
"""

# ruff: noqa: S324  (md5 is Cryptomus' signing, spoken here as the processor speaks it)
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.providers.fakes import Answer, FakeServer, Request, as_json

MERCHANT = "8b03432e-385b-4670-8d06-064591096795"
API_KEY = "processor-api-key-0123456789"
SECRET = "processor-callback-secret"


def header(request: Request, name: str) -> str:
    return next((v for k, v in request.headers.items() if k.lower() == name.lower()), "")


def php_json_encode(data: Any) -> str:
    """PHP's json_encode($data, JSON_UNESCAPED_UNICODE): no spaces, every / escaped."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


@dataclass
class FakeCryptomus(FakeServer):
    """``/v1/payment`` and ``/v1/payment/info`` of Cryptomus (and Heleket: same protocol)."""

    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    host: str = "pay.cryptomus.com"
    # The merchant's discount_percent per coin (negative: a surcharge for paying with it).
    discounts: dict[str, Decimal] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def handle(self, request: Request) -> Answer:
        expected = hashlib.md5(base64.b64encode(request.body) + API_KEY.encode()).hexdigest()
        if header(request, "merchant") != MERCHANT or header(request, "sign") != expected:
            return as_json({"state": 1, "message": "Invalid Sign."}, status=401)
        data = request.json()
        if request.path == "/v1/payment":
            return self._create(data)
        if request.path == "/v1/payment/info":
            invoice = self.invoices.get(data.get("uuid"))
            if invoice is None:
                return as_json({"state": 1, "message": "Payment not found"}, status=404)
            # The invoice as /payment/info answers it: what the payer was asked in their coin
            # too, not the webhook's USD figure.
            coin = invoice["payer_currency"] or invoice["currency"]
            asked = in_coin(invoice["amount"], invoice["currency"], coin)
            if asked is not None:
                asked = str(Decimal(asked) * (1 - self.discounts.get(coin, 0) / Decimal(100)))
            result = {**invoice, "payer_amount": asked, "payment_status": invoice["status"]}
            return as_json({"state": 0, "result": result})
        return as_json({"state": 1, "message": "Not found"}, status=404)

    def _create(self, data: dict[str, Any]) -> Answer:
        if not isinstance(data.get("amount"), str) or not data.get("order_id"):
            return as_json({"state": 1, "errors": {"amount": ["required"]}}, status=422)
        uuid = f"{secrets.token_hex(4)}-a9d5-4fa6-aa26-{secrets.token_hex(6)}"
        self.invoices[uuid] = {
            "uuid": uuid,
            "order_id": data["order_id"],
            "amount": data["amount"],
            "payment_amount": None,
            "currency": data["currency"],
            "payer_currency": data.get("to_currency"),
            "url": f"https://{self.host}/pay/{uuid}",
            "expired_at": 1_900_000_000,
            "status": "check",
            "is_final": False,
            "additional_data": data.get("additional_data"),
            "url_callback": data.get("url_callback"),
            "txid": None,
        }
        return as_json({"state": 0, "result": self.invoices[uuid]})

    def pay(self, uuid: str, status: str, paid: str | None = None, txid: str | None = None) -> None:
        """The payer paid ``paid`` in the coin of the invoice (``payer_currency``)."""
        self.invoices[uuid].update(status=status, payment_amount=paid, txid=txid)

    def callback(self, uuid: str, *, api_key: str = API_KEY) -> tuple[bytes, dict[str, str]]:
        invoice = self.invoices[uuid]
        data = {
            "type": "payment",
            "uuid": uuid,
            "order_id": invoice["order_id"],
            "amount": invoice["amount"],
            "payment_amount": invoice["payment_amount"],
            "payment_amount_usd": in_usd(invoice["payment_amount"], invoice["payer_currency"]),
            "merchant_amount": invoice["payment_amount"],
            "commission": "0.00000000",
            "is_final": invoice["status"] in ("paid", "paid_over", "cancel", "fail"),
            "status": invoice["status"],
            "from": "THgEWubVc8tPKXLJ4VZ5zbiiAK7AgqSeGH",
            "wallet_address_uuid": None,
            "network": "tron",
            "currency": invoice["currency"],
            "payer_currency": invoice["payer_currency"],
            "additional_data": "пополнение / top-up",
            "convert": {"to_currency": "USDT", "commission": None, "rate": "0.07700000"},
            "txid": invoice["txid"],
        }
        data["sign"] = hashlib.md5(
            base64.b64encode(php_json_encode(data).encode()) + api_key.encode()
        ).hexdigest()
        return php_json_encode(data).encode(), {"Content-Type": "application/json"}


# What a coin is worth in USD, for the figure Cryptomus gives in USD besides the coin's.
USD_RATES = {"USD": Decimal(1), "USDT": Decimal(1), "BTC": Decimal(50000), "TRX": Decimal("0.25")}


def in_usd(paid: str | None, coin: str | None) -> str | None:
    if paid is None:
        return None
    return str(Decimal(paid) * USD_RATES[(coin or "USD").upper()])


def in_coin(amount: str, currency: str, coin: str) -> str | None:
    """``amount`` of ``currency`` in ``coin``; None for a currency without a rate here."""
    rates = [USD_RATES.get(code.upper()) for code in (currency, coin)]
    if None in rates:
        return None
    return str(Decimal(amount) * rates[0] / rates[1])


def js_number(value: float) -> float | int:
    """A number as JavaScript writes it: 10, not 10.0."""
    return int(value) if value == int(value) else value


def nowpayments_sort(value: Any) -> Any:
    """The documented sortObject: keys sorted at every level."""
    if isinstance(value, dict):
        return {k: nowpayments_sort(value[k]) for k in sorted(value)}
    return value


@dataclass
class FakeNowPayments(FakeServer):
    """``/v1/invoice`` and ``/v1/payment/{id}`` of NOWPayments."""

    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def handle(self, request: Request) -> Answer:
        if header(request, "x-api-key") != API_KEY:
            return as_json({"status": False, "statusCode": 403, "message": "Invalid api key"}, 403)
        if request.method == "POST" and request.path == "/v1/invoice":
            data = request.json()
            invoice_id = str(4_522_625_843 + len(self.invoices))
            self.invoices[invoice_id] = {
                **data,
                "id": invoice_id,
                "invoice_url": f"https://nowpayments.io/payment/?iid={invoice_id}",
                "created_at": "2026-01-01T10:00:00.000Z",
            }
            return as_json(self.invoices[invoice_id])
        if request.method == "GET" and request.path.startswith("/v1/payment/"):
            payment = self.payments.get(request.path.rsplit("/", 1)[1])
            if payment is None:
                return as_json({"status": False, "message": "Payment not found"}, 404)
            return as_json(payment)
        return as_json({"message": "Not found"}, 404)

    def pay(self, invoice_id: str, status: str, actually_paid: float) -> str:
        invoice = self.invoices[invoice_id]
        payment_id = str(5_077_125_051 + int(invoice_id) % 1000)
        self.payments[payment_id] = {
            "payment_id": int(payment_id),
            "parent_payment_id": None,
            "invoice_id": int(invoice_id),
            "payment_status": status,
            "pay_address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
            "payin_extra_id": None,
            "price_amount": js_number(float(invoice["price_amount"])),
            "price_currency": invoice["price_currency"],
            "pay_amount": 0.0004,
            "actually_paid": actually_paid,
            "actually_paid_at_fiat": 0,
            "pay_currency": invoice["pay_currency"],
            "order_id": invoice["order_id"],
            "order_description": "Top-up / пополнение",
            "purchase_id": "5837122679",
            "outcome_amount": 0.0003935,
            "outcome_currency": "btc",
            "payment_extra_ids": None,
            "fee": {"currency": "btc", "depositFee": 0, "withdrawalFee": 0, "serviceFee": 0},
            "payin_hash": "9f2c" + "0" * 60,
            "created_at": "2026-01-01T10:01:00.000Z",
            "updated_at": "2026-01-01T10:11:00.000Z",
        }
        return payment_id

    def callback(self, payment_id: str, *, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
        payment = self.payments[payment_id]
        signed = json.dumps(nowpayments_sort(payment), separators=(",", ":"), ensure_ascii=False)
        signature = hmac.new(secret.encode(), signed.encode(), hashlib.sha512).hexdigest()
        body = json.dumps(payment, ensure_ascii=False).encode()  # sent unsorted, with spaces
        return body, {"Content-Type": "application/json", "x-nowpayments-sig": signature}


STORE = "9CiNzKoANXxmk5ayZngSXrHTiVvvgCrwrpFQd4m2K776"


@dataclass
class FakeBtcPay(FakeServer):
    """The Greenfield API of a BTCPay Server store: invoices and their payment methods."""

    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    methods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.url + "/api/v1"

    def handle(self, request: Request) -> Answer:
        if header(request, "Authorization") != f"token {API_KEY}":
            return as_json(
                {"code": "unauthenticated", "message": "Authentication is required"}, 401
            )
        prefix = f"/api/v1/stores/{STORE}/invoices"
        if not request.path.startswith(prefix):
            return as_json({"code": "store-not-found", "message": "Store not found"}, 404)
        rest = request.path[len(prefix) :].strip("/").split("/")
        if request.method == "POST" and rest == [""]:
            return self._create(request.json())
        invoice = self.invoices.get(rest[0])
        if invoice is None:
            return as_json({"code": "invoice-not-found", "message": "Invoice not found"}, 404)
        if rest[1:] == ["payment-methods"]:
            return as_json(self.methods[rest[0]])
        return as_json(invoice)

    def _create(self, data: dict[str, Any]) -> Answer:
        invoice_id = secrets.token_hex(11)
        self.invoices[invoice_id] = {
            "id": invoice_id,
            "storeId": STORE,
            "amount": data["amount"],
            "currency": data["currency"],
            "type": "Standard",
            "checkoutLink": f"{self.url}/i/{invoice_id}",
            "createdTime": 1_767_261_600,
            "expirationTime": 1_767_261_600 + 60 * data["checkout"]["expirationMinutes"],
            "monitoringExpiration": 1_767_265_200,
            "status": "New",
            "additionalStatus": "None",
            "metadata": data["metadata"],
            "checkout": data["checkout"],
        }
        self.methods[invoice_id] = [
            {
                "paymentMethod": "BTC",
                "cryptoCode": "BTC",
                "destination": "bc1qfakefakefake",
                "rate": "50000.00",
                "paymentMethodPaid": "0.00000000",
                "totalPaid": "0.00000000",
                "due": "0.00020000",
                "amount": "0.00020000",
                "networkFee": "0.00000000",
                "payments": [],
                "activated": True,
            }
        ]
        return as_json(self.invoices[invoice_id])

    def pay(self, invoice_id: str, status: str, btc: str, additional: str = "None") -> str:
        txid = secrets.token_hex(32)
        self.invoices[invoice_id].update(status=status, additionalStatus=additional)
        method = self.methods[invoice_id][0]
        method.update(paymentMethodPaid=btc, totalPaid=btc)
        method["payments"].append(
            {
                "id": f"{txid}-0",
                "receivedDate": 1_767_261_700,
                "value": btc,
                "fee": "0.0",
                "status": "Settled",
                "destination": "bc1qfakefakefake",
            }
        )
        return txid

    def callback(self, invoice_id: str, kind: str = "InvoiceSettled", *, secret: str = SECRET):
        body = json.dumps(
            {
                "deliveryId": secrets.token_hex(8),
                "webhookId": "Td7oUwYVZWGAdEDaAJr8YS",
                "originalDeliveryId": secrets.token_hex(8),
                "isRedelivery": False,
                "type": kind,
                "timestamp": 1_767_261_800,
                "storeId": STORE,
                "invoiceId": invoice_id,
                "metadata": self.invoices[invoice_id]["metadata"],
                "manuallyMarked": False,
                "overPaid": False,
            }
        ).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "BTCPay-Sig": signature}
