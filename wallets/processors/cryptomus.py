"""Cryptomus' merchant API, which Heleket speaks too (same paths, fields and signing).

Every request is JSON with the headers ``merchant`` (the merchant uuid) and ``sign`` =
md5(base64(body) + API key), over the exact bytes sent; we send the body as PHP writes it, so
that the sign holds whether the server hashes the raw body or re-encodes it. ``POST /payment``
creates an invoice (``result.uuid``, ``result.url``, ``result.expired_at``); ``POST
/payment/info`` reads one by ``uuid``. A callback is a JSON body whose ``sign`` field is
md5(base64(json_encode(body without sign, JSON_UNESCAPED_UNICODE)) + API key): PHP escapes
every ``/`` as ``\\/``, so the body is re-encoded that way before hashing.
"""

from __future__ import annotations

import base64
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
    invoice_from,
)

# Cryptomus' payment statuses → ours (None: changes nothing, e.g. a refund being processed).
STATUSES: dict[str, str | None] = {
    "check": "pending",
    "process": "pending",
    "confirm_check": "confirming",
    "locked": "confirming",
    "wrong_amount_waiting": "partially_paid",
    "wrong_amount": "partially_paid",
    "paid": "paid",
    "paid_over": "overpaid",
    "cancel": "expired",
    "fail": "failed",
    "system_fail": "failed",
    "refund_process": None,
    "refund_fail": None,
    "refund_paid": None,
}
MIN_LIFETIME, MAX_LIFETIME = 300, 43200  # seconds, as the API allows


def sign(data: bytes | str, api_key: str) -> str:
    """md5(base64(data) + key), hex."""
    raw = data.encode() if isinstance(data, str) else data
    # md5 is the protocol's, not our choice; the key inside it is what makes it a signature.
    return hashlib.md5(base64.b64encode(raw) + api_key.encode()).hexdigest()  # noqa: S324


class CryptomusProcessor(Processor):
    kind = "cryptomus"
    default_base_url = "https://api.cryptomus.com/v1"
    default_currencies = ("USDT", "BTC", "ETH", "LTC", "TRX", "TON")
    needs = ("merchant", "api_key")

    def create_invoice(self, request: InvoiceRequest) -> Invoice:
        lifetime = min(max(request.minutes * 60, MIN_LIFETIME), MAX_LIFETIME)
        result = self._post(
            "/payment",
            {
                "amount": f"{request.amount:.2f}",
                "currency": request.currency,
                "order_id": request.order_id,
                "to_currency": request.pay_currency,
                "url_callback": request.callback_url,
                "url_return": request.return_url,
                "url_success": request.return_url,
                "lifetime": lifetime,
                "additional_data": request.description,
            },
        )
        return invoice_from(result, ref="uuid", url="url", expires="expired_at")

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> Any:
        try:
            payload = encoding.loads(body)
        except ValueError:
            raise BadSignature("The callback is not JSON, so its sign cannot be read.") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("sign"), str):
            raise BadSignature("The callback carries no sign.")
        received = payload.pop("sign")
        expected = sign(encoding.php_json(payload), self.processor.api_key)
        if not hmac.compare_digest(expected.encode(), received.lower().encode()):
            raise BadSignature()
        return payload

    def read_callback(self, payload: Any) -> PaymentReport:
        return self._report(payload)

    def query(self, *, ref: str, payment_id: str = "") -> PaymentReport:
        return self._report(self._post("/payment/info", {"uuid": ref}))

    # --- protocol ----------------------------------------------------------------------
    def _post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        body = encoding.php_json(data).encode()
        answer = http.call(
            "POST",
            self.base_url + path,
            timeout=self.timeout,
            content=body,
            headers={
                "merchant": self.processor.merchant,
                "sign": sign(body, self.processor.api_key),
                "Content-Type": "application/json",
            },
        )
        if not isinstance(answer, dict) or str(answer.get("state")) != "0":
            raise ProcessorUnavailable(f"The processor answered {str(answer)[:160]!r}.")
        result = answer.get("result")
        if not isinstance(result, dict):
            raise ProcessorUnavailable("The processor's answer has no result.")
        return result

    def _report(self, data: Any) -> PaymentReport:
        if not isinstance(data, dict) or not data.get("uuid"):
            raise InvalidCallback("The payment has no uuid.")
        code = str(data.get("payment_status") or data.get("status") or "")
        if code not in STATUSES:
            raise InvalidCallback(f"Unknown payment status {code[:40]!r}.")
        txid = data.get("txid")
        return PaymentReport(
            ref=str(data["uuid"]),
            status=STATUSES[code],
            amount_received=_received(data),
            tx_hashes=(str(txid),) if txid else (),
            currency=str(data.get("currency") or ""),
            raw=encoding.js_sorted_json(data),
        )


def _received(data: Mapping[str, Any]) -> Decimal | None:
    """What the payer paid, in the invoice's currency. ``payment_amount`` is in the coin they
    paid with (``payer_currency``); its share of ``payer_amount``, what they were asked in that
    coin (with the coin's discount or surcharge), is the share of the invoice's ``amount`` paid.
    A callback without ``payer_amount`` says ``payment_amount_usd`` for an invoice in USD, and
    the coin's own figure serves when the coin is the invoice's currency. Otherwise None: the
    status alone decides (paid in full is what was asked); a coin amount is never taken for
    the invoice's currency."""
    paid, asked, amount = (_amount(data, f) for f in ("payment_amount", "payer_amount", "amount"))
    currency, in_usd = str(data.get("currency") or "").upper(), _amount(data, "payment_amount_usd")
    if paid is not None and asked and amount is not None:
        return amount * paid / asked
    if currency == "USD" and in_usd is not None:
        return in_usd
    if str(data.get("payer_currency") or currency).upper() == currency:
        return paid
    return None


def _amount(data: Mapping[str, Any], field: str) -> Decimal | None:
    value = data.get(field)
    return amount_from(value, what=field) if value not in (None, "") else None


class HeleketProcessor(CryptomusProcessor):
    kind = "heleket"
    default_base_url = "https://api.heleket.com/v1"
