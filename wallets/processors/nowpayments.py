"""NOWPayments: ``x-api-key`` on every call; ``POST /invoice`` creates a hosted invoice
(``id``, ``invoice_url``); ``GET /payment/{payment_id}`` reads a payment. IPN callbacks carry
``x-nowpayments-sig`` = HMAC-SHA512(IPN secret, JSON.stringify of the body with its keys
sorted at every level). The sandbox lives at ``https://api-sandbox.nowpayments.io/v1``.

An invoice gets its payment id with the customer's first payment; it comes with the first IPN
and is kept, so the reconciliation can ask about the payment later.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wallets.processors import encoding, http
from wallets.processors.base import (
    BadSignature,
    InvalidCallback,
    Invoice,
    InvoiceRequest,
    PaymentReport,
    Processor,
    ProcessorUnavailable,
    amount_from,
    header,
)

SANDBOX_URL = "https://api-sandbox.nowpayments.io/v1"
STATUSES: dict[str, str | None] = {
    "waiting": "pending",
    "confirming": "confirming",
    "confirmed": "confirming",
    "sending": "confirming",
    "partially_paid": "partially_paid",
    "finished": "paid",
    "failed": "failed",
    "expired": "expired",
    "refunded": None,
}


def ipn_signature(payload: Any, secret: str, *, arrays_as_objects: bool = False) -> str:
    """HMAC-SHA512 of ``JSON.stringify(sortObject(payload))`` as NOWPayments computes it."""
    signed = encoding.js_sorted_json(payload, arrays_as_objects=arrays_as_objects)
    return hmac.new(secret.encode(), signed.encode(), hashlib.sha512).hexdigest()


def ipn_signatures(payload: Any, secret: str) -> list[str]:
    """The signatures a genuine IPN may carry: the documented ``sortObject`` makes an array
    an object keyed by index, the PHP and Python examples keep it an array; without arrays in
    the body the two are the same."""
    signatures = [ipn_signature(payload, secret)]
    if "[" in encoding.js_sorted_json(payload):
        signatures.append(ipn_signature(payload, secret, arrays_as_objects=True))
    return signatures


class NowPaymentsProcessor(Processor):
    kind = "nowpayments"
    default_base_url = "https://api.nowpayments.io/v1"
    default_currencies = ("btc", "eth", "ltc", "usdttrc20")
    needs = ("api_key", "secret")

    def create_invoice(self, request: InvoiceRequest) -> Invoice:
        data = {
            "price_amount": Decimal(f"{request.amount:.2f}"),
            "price_currency": request.currency.lower(),
            "pay_currency": request.pay_currency.lower(),
            "order_id": request.order_id,
            "order_description": request.description,
            "ipn_callback_url": request.callback_url,
            "success_url": request.return_url,
            "cancel_url": request.return_url,
        }
        answer = self._call("POST", "/invoice", encoding.js_sorted_json(data).encode())
        try:
            return Invoice(ref=str(answer["id"]), payment_url=str(answer["invoice_url"]))
        except (KeyError, TypeError) as exc:
            raise ProcessorUnavailable(f"The invoice answer lacks {exc}.") from exc

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> Any:
        received = header(headers, "x-nowpayments-sig").strip().lower()
        if not received:
            raise BadSignature("The IPN carries no x-nowpayments-sig.")
        try:
            payload = encoding.loads(body)
        except ValueError:
            raise BadSignature("The IPN is not JSON, so its signature cannot hold.") from None
        if not any(
            hmac.compare_digest(expected.encode(), received.encode())
            for expected in ipn_signatures(payload, self.processor.secret)
        ):
            raise BadSignature()
        return payload

    def read_callback(self, payload: Any) -> PaymentReport:
        return self._report(payload)

    def query(self, *, ref: str, payment_id: str = "") -> PaymentReport:
        if not payment_id:
            # Without a payment the invoice has nothing to say yet.
            return PaymentReport(ref=ref, status=None)
        report = self._report(self._call("GET", f"/payment/{payment_id}", None))
        if report.ref != ref:
            raise ProcessorUnavailable("The payment belongs to another invoice.")
        return report

    def _call(self, method: str, path: str, body: bytes | None) -> Any:
        headers = {"x-api-key": self.processor.api_key, "Content-Type": "application/json"}
        return http.call(
            method, self.base_url + path, timeout=self.timeout, headers=headers, content=body
        )

    def _report(self, data: Any) -> PaymentReport:
        if not isinstance(data, dict) or not data.get("invoice_id"):
            raise InvalidCallback("The payment names no invoice_id.")
        code = str(data.get("payment_status") or "")
        if code not in STATUSES:
            raise InvalidCallback(f"Unknown payment status {code[:40]!r}.")
        txid = data.get("payin_hash")
        return PaymentReport(
            ref=str(data["invoice_id"]),
            status=STATUSES[code],
            amount_received=_received(data, finished=code == "finished"),
            currency=str(data.get("price_currency") or "").upper(),
            tx_hashes=(str(txid),) if txid else (),
            payment_id=str(data.get("payment_id") or ""),
            raw=encoding.js_sorted_json(data),
        )


def _received(data: dict[str, Any], *, finished: bool) -> Decimal | None:
    """What was paid, in the price currency: NOWPayments' own fiat figure when it gives one,
    else the price in proportion of the coins paid to the coins asked."""
    price = amount_from(data.get("price_amount"), what="price_amount")
    at_fiat = data.get("actually_paid_at_fiat")
    if at_fiat not in (None, "") and amount_from(at_fiat, what="actually_paid_at_fiat") > 0:
        return amount_from(at_fiat, what="actually_paid_at_fiat")
    paid, asked = data.get("actually_paid"), data.get("pay_amount")
    if paid not in (None, "") and asked not in (None, ""):
        asked_amount = amount_from(asked, what="pay_amount")
        if asked_amount > 0:
            return price * amount_from(paid, what="actually_paid") / asked_amount
    return price if finished else None
