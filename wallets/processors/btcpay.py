"""BTCPay Server's Greenfield API (self-hosted): ``Authorization: token <API key>``; ``POST
/stores/{store}/invoices`` creates an invoice (``id``, ``checkoutLink``, ``expirationTime``);
``GET /stores/{store}/invoices/{id}`` reads its status and ``…/payment-methods`` what was paid
(per method: ``paymentMethodPaid`` in its coin, the ``rate`` to the invoice currency, and the
``payments`` with their transaction ids). ``base_url`` is the API root,
``https://btcpay.example.com/api/v1``.

Webhooks are configured in the store with a secret: each delivery carries ``BTCPay-Sig:
sha256=<HMAC-SHA256(secret, raw body)>``. A webhook names the invoice but not the money, so a
verified webhook is followed by the two reads above.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from wallets.processors import encoding, http
from wallets.processors.base import (
    InvalidCallback,
    Invoice,
    InvoiceRequest,
    PaymentReport,
    Processor,
    ProcessorUnavailable,
    amount_from,
    header,
    invoice_from,
    signed_json,
)

# (status, additionalStatus) → ours; additionalStatus decides where it says more.
ADDITIONAL = {"PaidPartial": "partially_paid", "PaidOver": "overpaid"}
STATUSES = {
    "New": "pending",
    "Processing": "confirming",
    "Settled": "paid",
    "Complete": "paid",
    "Confirmed": "paid",
    "Expired": "expired",
    "Invalid": "failed",
}


def webhook_signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class BtcPayProcessor(Processor):
    kind = "btcpay"
    default_currencies = ("BTC",)
    needs = ("base_url", "store_id", "api_key", "secret")

    def create_invoice(self, request: InvoiceRequest) -> Invoice:
        data = {
            "amount": f"{request.amount:.2f}",
            "currency": request.currency,
            "metadata": {"orderId": request.order_id, "itemDesc": request.description},
            "checkout": {
                "redirectURL": request.return_url,
                "expirationMinutes": request.minutes,
                "paymentMethods": [request.pay_currency],
            },
        }
        answer = self._call("POST", "/invoices", encoding.js_sorted_json(data).encode())
        return invoice_from(answer, ref="id", url="checkoutLink", expires="expirationTime")

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> Any:
        return signed_json(
            body,
            received=header(headers, "BTCPay-Sig"),
            expected=webhook_signature(body, self.processor.secret),
        )

    def read_callback(self, payload: Any) -> PaymentReport:
        if not isinstance(payload, dict) or not payload.get("invoiceId"):
            raise InvalidCallback("The webhook names no invoiceId.")
        if str(payload.get("storeId") or self.processor.store_id) != self.processor.store_id:
            raise InvalidCallback("The webhook is for another store.")
        return self.query(ref=str(payload["invoiceId"]))

    def query(self, *, ref: str, payment_id: str = "") -> PaymentReport:
        invoice = self._call("GET", f"/invoices/{ref}", None)
        methods = self._call("GET", f"/invoices/{ref}/payment-methods", None)
        if not isinstance(invoice, dict) or not isinstance(methods, list):
            raise ProcessorUnavailable("The invoice read is not what Greenfield answers.")
        status = ADDITIONAL.get(str(invoice.get("additionalStatus"))) or STATUSES.get(
            str(invoice.get("status"))
        )
        received = _received(methods)
        if status == "paid":
            # Settled means paid in full; the coins times the rate may miss it by a satoshi.
            received = max(received, amount_from(invoice.get("amount")))
        return PaymentReport(
            ref=ref,
            status=status,
            amount_received=received if received > 0 or status == "paid" else None,
            currency=str(invoice.get("currency") or ""),
            tx_hashes=_transactions(methods),
            raw=encoding.js_sorted_json({"invoice": invoice, "paymentMethods": methods}),
        )

    def _call(self, method: str, path: str, body: bytes | None) -> Any:
        headers = {
            "Authorization": f"token {self.processor.api_key}",
            "Content-Type": "application/json",
        }
        url = f"{self.base_url}/stores/{self.processor.store_id}{path}"
        return http.call(method, url, timeout=self.timeout, headers=headers, content=body)


def _received(methods: list[Any]) -> Decimal:
    """The invoice currency's worth of every coin paid in."""
    total = Decimal(0)
    for method in methods:
        if isinstance(method, dict) and method.get("paymentMethodPaid") not in (None, "", "0"):
            paid = amount_from(method.get("paymentMethodPaid"), what="paymentMethodPaid")
            total += paid * amount_from(method.get("rate"), what="rate")
    return total


def _transactions(methods: list[Any]) -> tuple[str, ...]:
    """The transaction ids of the payments (Greenfield names a payment ``<txid>-<vout>``)."""
    found: list[str] = []
    for method in methods:
        for payment in method.get("payments") or [] if isinstance(method, dict) else []:
            txid = str(payment.get("transactionId") or payment.get("id") or "")
            txid = txid.rsplit("-", 1)[0] if "-" in txid else txid
            if txid and txid not in found:
                found.append(txid)
    return tuple(found)
