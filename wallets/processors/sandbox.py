"""The sandbox: a processor that lives inside smsbox, for ``make run``, demos and tests.

Its payment page (``/payments/sandbox/<ref>/``) has "Pay", "Pay less" and "Expire" buttons;
each changes the sandbox's own invoice and sends the same kind of callback a real processor
sends: a JSON body signed ``X-Sandbox-Signature: sha256=<HMAC-SHA256(secret, raw body)>``,
through the very code path of ``POST /payments/<name>/callback``. It moves no real money, so
it is refused unless ``DEBUG`` is on or ``SMSBOX_SANDBOX_PAYMENTS=true``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from smsbox.money import CENT
from wallets.processors.base import (
    InvalidCallback,
    Invoice,
    InvoiceRequest,
    PaymentReport,
    Processor,
    ProcessorRefused,
    amount_from,
    header,
    signed_json,
)

SIGNATURE_HEADER = "X-Sandbox-Signature"
STATUSES = {"open": "pending", "paid": "paid", "partial": "partially_paid", "expired": "expired"}
ACTIONS = ("pay", "pay_less", "expire")


def sandbox_allowed() -> bool:
    return bool(settings.DEBUG or settings.SMSBOX_SANDBOX_PAYMENTS)


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class SandboxProcessor(Processor):
    kind = "sandbox"
    default_currencies = ("USDT", "BTC")
    needs = ("secret",)

    def __init__(self, processor: Any) -> None:
        if not sandbox_allowed():
            raise ProcessorRefused(
                "The sandbox processor is off: DEBUG is false and SMSBOX_SANDBOX_PAYMENTS "
                "is not true."
            )
        super().__init__(processor)

    def create_invoice(self, request: InvoiceRequest) -> Invoice:
        from wallets.models import SandboxInvoice

        invoice = SandboxInvoice.objects.create(
            processor=self.processor,
            ref=f"sbx_{secrets.token_hex(10)}",
            order_id=request.order_id,
            amount=request.amount,
            currency=request.currency,
            pay_currency=request.pay_currency,
            callback_url=request.callback_url,
            return_url=request.return_url,
        )
        parts = urlsplit(request.callback_url)
        page = reverse("payments-sandbox-page", args=[invoice.ref])
        return Invoice(ref=invoice.ref, payment_url=f"{parts.scheme}://{parts.netloc}{page}")

    def verify_callback(self, *, body: bytes, headers: Mapping[str, str]) -> Any:
        return signed_json(
            body,
            received=header(headers, SIGNATURE_HEADER),
            expected=signature(body, self.processor.secret),
        )

    def read_callback(self, payload: Any) -> PaymentReport:
        if not isinstance(payload, dict) or not payload.get("invoice"):
            raise InvalidCallback("The callback names no invoice.")
        status = str(payload.get("status"))
        if status not in STATUSES:
            raise InvalidCallback(f"Unknown status {status[:40]!r}.")
        paid = amount_from(payload.get("paid"), what="paid")
        tx = str(payload.get("tx_hash") or "")
        return PaymentReport(
            ref=str(payload["invoice"]),
            status=STATUSES[status],
            amount_received=paid if status in ("paid", "partial") or paid > 0 else None,
            currency=str(payload.get("currency") or ""),
            tx_hashes=(tx,) if tx else (),
            raw=json.dumps(payload, sort_keys=True),
        )

    def query(self, *, ref: str, payment_id: str = "") -> PaymentReport:
        from wallets.models import SandboxInvoice

        invoice = SandboxInvoice.objects.filter(processor=self.processor, ref=ref).first()
        if invoice is None:
            raise ProcessorRefused("The sandbox has no such invoice.")
        return self.read_callback(_payload(invoice))

    def callback_answer(self) -> tuple[int, str, str]:
        return 200, '{"status":"ok"}', "application/json"


def sandbox_act(*, ref: str, action: str) -> tuple[Any, bytes, dict[str, str]]:
    """The sandbox's side of a button: change its invoice, and answer the processor and the
    signed callback (body and headers) that it sends about it."""
    from wallets.models import SandboxInvoice

    if action not in ACTIONS:
        raise ProcessorRefused(f"Unknown sandbox action {action!r}.")
    with transaction.atomic():
        invoice = (
            SandboxInvoice.objects.select_for_update().select_related("processor").get(ref=ref)
        )
        if action == "pay":
            invoice.paid, invoice.status = invoice.amount, SandboxInvoice.Status.PAID
        elif action == "pay_less":
            half = (invoice.amount / 2).quantize(CENT, rounding=ROUND_DOWN)
            invoice.paid, invoice.status = max(half, CENT), SandboxInvoice.Status.PARTIAL
        elif invoice.status == SandboxInvoice.Status.OPEN:
            invoice.status = SandboxInvoice.Status.EXPIRED
        if action != "expire":
            invoice.tx_hash = secrets.token_hex(32)
        invoice.save(update_fields=["paid", "status", "tx_hash"])
    body = json.dumps(_payload(invoice), separators=(",", ":")).encode()
    return invoice.processor, body, {SIGNATURE_HEADER: signature(body, invoice.processor.secret)}


def _payload(invoice: Any) -> dict[str, Any]:
    return {
        "invoice": invoice.ref,
        "order_id": invoice.order_id,
        "status": invoice.status,
        "amount": f"{invoice.amount:.2f}",
        "paid": f"{Decimal(invoice.paid):.2f}",
        "currency": invoice.currency,
        "pay_currency": invoice.pay_currency,
        "tx_hash": invoice.tx_hash,
    }
