"""Top-ups through payment processors: create an invoice, take the processor's word about it
(a verified callback or a query), and credit the wallet exactly once for what was received.

Every change of an invoice locks its row, merges what the processor says into what we know
(never backwards: a late "confirming" after "paid" changes nothing; a payment after "expired"
reopens it as paid), and credits the difference between what was received (rounded down to
cents) and what was already credited, through ``wallets.services`` in the same transaction,
keyed by processor and invoice, so repeated or concurrent callbacks credit once.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, slug_re
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from smsbox.audit import audit_record
from smsbox.errors import InvalidInput
from smsbox.models import User
from smsbox.money import CENT, LARGEST, MONEY_DECIMAL_PLACES, ZERO, parse_money
from wallets.errors import (
    CallbackForbidden,
    CallbackInvoiceUnknown,
    CallbackProcessorUnknown,
    CallbackTooLarge,
    InvalidAmount,
    TopUpAmountOutOfRange,
    UnknownCurrency,
    UnknownProcessor,
)
from wallets.models import LedgerEntry, PaymentProcessor, TopUp, TopUpCallback, Wallet
from wallets.processors import (
    PROCESSORS,
    BadSignature,
    InvalidCallback,
    InvoiceRequest,
    PaymentReport,
    ProcessorError,
    ProcessorUnavailable,
    processor_for,
    sandbox_allowed,
)
from wallets.services import (
    Reference,
    wallet_adjust,
    wallet_bonus,
    wallet_deposit,
    wallet_get_or_create,
)

logger = logging.getLogger(__name__)
Status = TopUp.Status

MAX_CALLBACK_BYTES = 64 * 1024
WAITING = {Status.CREATED: 0, Status.PENDING: 1, Status.CONFIRMING: 2}
MONEY = {Status.PARTIALLY_PAID: 0, Status.PAID: 1, Status.OVERPAID: 2}
RECONCILED = [Status.PENDING, Status.CONFIRMING, Status.PARTIALLY_PAID, Status.EXPIRED]


# --- creating -------------------------------------------------------------------------------
def topup_create(
    *, user: User, amount: object, processor_name: str, pay_currency: str, base_url: str
) -> TopUp:
    """An invoice at the processor for ``amount`` of the installation's currency. The top-up
    row exists before the processor is asked, so an invoice is never made without one."""
    amount = _topup_amount(amount)
    processor = _usable_processor(processor_name)
    client = processor_for(processor)
    pay_currency = _pay_currency(processor, client.default_currencies, pay_currency)
    top_up = TopUp.objects.create(
        wallet=wallet_get_or_create(user=user),
        user=user,
        processor=processor,
        amount=amount,
        currency=settings.SMSBOX_CURRENCY,
        pay_currency=pay_currency,
        order_id=f"smsbox-{secrets.token_hex(12)}",
        expires_at=timezone.now() + timedelta(minutes=processor.invoice_minutes),
    )
    base = base_url.rstrip("/")
    try:
        invoice = client.create_invoice(
            InvoiceRequest(
                amount=amount,
                currency=top_up.currency,
                pay_currency=pay_currency,
                order_id=top_up.order_id,
                callback_url=base + reverse("payments-callback", args=[processor.name]),
                return_url=base + reverse("topup-detail", args=[top_up.pk]),
                minutes=processor.invoice_minutes,
                description=f"Top-up #{top_up.pk}",
            )
        )
    except ProcessorError as error:
        TopUp.objects.filter(pk=top_up.pk).update(status=Status.FAILED, error=error.message[:255])
        raise
    with transaction.atomic():
        locked = _lock(top_up.pk)
        locked.processor_ref = invoice.ref
        locked.payment_url = invoice.payment_url
        locked.processor_payment_id = invoice.payment_id
        locked.expires_at = invoice.expires_at or timezone.now() + timedelta(
            minutes=processor.invoice_minutes
        )
        if locked.status == Status.CREATED:
            locked.status = Status.PENDING
        locked.save()
    return locked


def _topup_amount(raw: object) -> Decimal:
    try:
        amount = parse_money(raw)
    except ValueError as error:
        raise InvalidAmount(str(error)) from None
    if amount <= ZERO:
        raise InvalidAmount("The amount must be positive.")
    if amount != amount.quantize(CENT):
        raise InvalidAmount("Top-ups are in whole cents.")
    low, high = settings.SMSBOX_TOPUP_MIN, settings.SMSBOX_TOPUP_MAX
    if not low <= amount <= high:
        raise TopUpAmountOutOfRange(
            f"Top-ups are from {low:.2f} to {high:.2f} {settings.SMSBOX_CURRENCY}.",
            extra={"min": f"{low:.2f}", "max": f"{high:.2f}"},
        )
    return amount


def _usable_processor(name: str) -> PaymentProcessor:
    processor = offered_processor(str(name).strip())
    if processor is None:
        raise UnknownProcessor(extra={"processor": str(name)[:64]})
    return processor


def offered_processor(name: str) -> PaymentProcessor | None:
    """The enabled processor of that name; never the sandbox where it is refused."""
    processor = PaymentProcessor.objects.filter(name=name, enabled=True).first()
    if processor and processor.kind == PaymentProcessor.Kind.SANDBOX and not sandbox_allowed():
        return None
    return processor


def _pay_currency(processor: PaymentProcessor, defaults: tuple[str, ...], raw: str) -> str:
    offered = processor_currencies(processor, defaults)
    wanted = str(raw).strip().lower()
    match = next((c for c in offered if c.lower() == wanted), None)
    if match is None:
        raise UnknownCurrency(extra={"currencies": offered})
    return match


def processor_currencies(processor: PaymentProcessor, defaults: tuple[str, ...]) -> list[str]:
    return [str(c) for c in processor.currencies] if processor.currencies else list(defaults)


# --- what the processor says ----------------------------------------------------------------
def payment_callback_receive(
    *, processor_name: str, body: bytes, headers: Mapping[str, str], remote_addr: str
) -> tuple[int, str, str]:
    """A callback as it came over HTTP: the address and the signature are checked before
    anything in the body is believed; answers what the processor expects back."""
    processor = offered_processor(processor_name)
    if processor is None:
        raise CallbackProcessorUnknown()
    if len(body) > MAX_CALLBACK_BYTES:
        raise CallbackTooLarge(extra={"max_bytes": MAX_CALLBACK_BYTES})
    client = processor_for(processor)
    if not address_allowed(processor.allowed_ips, remote_addr):
        _rejected(processor, f"from {remote_addr}, not on the allow-list")
        raise CallbackForbidden()
    try:
        payload = client.verify_callback(body=body, headers=headers)
    except BadSignature:
        _rejected(processor, f"from {remote_addr} with a bad signature")
        raise
    report = client.read_callback(payload)
    top_up = TopUp.objects.filter(processor=processor, processor_ref=report.ref).only("pk").first()
    if top_up is None:
        raise CallbackInvoiceUnknown(extra={"invoice": report.ref[:128]})
    topup_apply(
        top_up_id=top_up.pk,
        report=report,
        source="callback",
        body=body.decode("utf-8", "replace"),
        remote_addr=remote_addr,
    )
    return client.callback_answer()


def address_allowed(allowed: str, remote_addr: str) -> bool:
    entries = allowed.replace(",", " ").split()
    if not entries:
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in entries)


def _rejected(processor: PaymentProcessor, why: str) -> None:
    logger.warning("payment callback for %s refused: %s", processor.name, why)
    PaymentProcessor.objects.filter(pk=processor.pk).update(
        rejected_callbacks=F("rejected_callbacks") + 1, last_rejected_at=timezone.now()
    )


def topup_reconcile(*, top_up_id: int) -> TopUp:
    """Ask the processor about the invoice and take its answer as if it were a callback."""
    top_up = TopUp.objects.select_related("processor").get(pk=top_up_id)
    if not top_up.processor_ref:
        return top_up
    report = processor_for(top_up.processor).query(
        ref=top_up.processor_ref, payment_id=top_up.processor_payment_id
    )
    if report.ref != top_up.processor_ref:
        raise ProcessorUnavailable("The processor answered about another invoice.")
    return topup_apply(top_up_id=top_up.pk, report=report, source="reconciliation", body=report.raw)


def topup_apply(
    *, top_up_id: int, report: PaymentReport, source: str, body: str, remote_addr: str = ""
) -> TopUp:
    """Merge a report into the invoice and credit what it adds, in one transaction."""
    received = _reported_amount(report)
    with transaction.atomic():
        top_up = _lock(top_up_id)
        if report.currency and report.currency.upper() != top_up.currency.upper():
            raise InvalidCallback(
                f"The invoice is in {top_up.currency}, the report in {report.currency[:8]}."
            )
        before = (top_up.status, top_up.amount_received, top_up.tx_hashes)
        top_up.status, top_up.amount_received = _merged(top_up, report.status, received)
        top_up.tx_hashes = _with_hashes(top_up.tx_hashes, report.tx_hashes)
        top_up.processor_payment_id = top_up.processor_payment_id or report.payment_id[:128]
        if top_up.status in MONEY and top_up.paid_at is None:
            top_up.paid_at = timezone.now()
        due = top_up.amount_received.quantize(CENT, rounding=ROUND_DOWN) - top_up.amount_credited
        if due > ZERO:
            _credit(top_up, due)
        changed = before != (top_up.status, top_up.amount_received, top_up.tx_hashes)
        if changed or source != "reconciliation":
            TopUpCallback.objects.create(
                top_up=top_up,
                source=source,
                remote_addr=remote_addr[:64],
                body=body,
                reported_status=str(report.status or "")[:32],
            )
        top_up.save()
    return top_up


def _reported_amount(report: PaymentReport) -> Decimal | None:
    """What the report says was received, at the precision the invoice stores it (rounded
    down, so that what is credited now and what a replay recomputes from the stored figure
    agree); a payment of nothing is no payment."""
    said = report.amount_received
    if said is None:
        return None
    if not said.is_finite() or said >= LARGEST:
        raise InvalidCallback("The amount received is not an amount.")
    said = said.quantize(Decimal(1).scaleb(-MONEY_DECIMAL_PLACES), rounding=ROUND_DOWN)
    if report.status in MONEY and said <= ZERO:
        raise InvalidCallback("A payment of nothing cannot be paid.")
    return said


def _merged(top_up: TopUp, reported: str | None, said: Decimal | None) -> tuple[str, Decimal]:
    """The invoice's status and amount received once the report is taken into account."""
    current, received = top_up.status, top_up.amount_received
    if reported in MONEY:
        if said is None:
            said = top_up.amount if reported != Status.PARTIALLY_PAID else received
        if reported == Status.PAID:
            # Paid in full: what was asked, even where the processor's figure, converted to
            # the invoice's currency, misses it by a rounding (or by the processor's tolerance).
            said = max(said, top_up.amount)
        received = max(received, said)
        status = _money_status(reported, received, top_up.amount)
        if current in MONEY and MONEY[current] > MONEY[status]:
            status = current
        return status, received
    if reported is None or current in MONEY:
        return current, received
    if reported in WAITING:
        if current in WAITING:
            return max(current, reported, key=WAITING.__getitem__), received
        # A payment seen after the expiry: it may still arrive.
        return (Status.CONFIRMING if reported == Status.CONFIRMING else current), received
    return (reported if current in WAITING else current), received


def _money_status(reported: str, received: Decimal, amount: Decimal) -> str:
    if received > amount:
        return Status.OVERPAID
    if received == amount or reported == Status.PAID:
        return Status.PAID
    return Status.PARTIALLY_PAID if reported == Status.PARTIALLY_PAID else Status.PAID


def _credit(top_up: TopUp, due: Decimal) -> None:
    wallet = Wallet.objects.select_for_update().get(pk=top_up.wallet_id)
    percent = settings.SMSBOX_TOPUP_FIRST_BONUS_PERCENT
    if percent > 0 and top_up.amount_credited == ZERO:
        others = TopUp.objects.filter(wallet_id=wallet.pk, amount_credited__gt=0)
        top_up.first_deposit = not others.exclude(pk=top_up.pk).exists()
    total = top_up.amount_credited + due
    key = f"top_up:{top_up.processor_id}:{top_up.processor_ref}"
    if top_up.amount_credited > ZERO:
        key = f"{key}:{total}"
    reference = Reference("top_up", top_up.pk)
    memo = f"Top-up #{top_up.pk} via {top_up.processor.name}"
    wallet_deposit(wallet=wallet, amount=due, idempotency_key=key, reference=reference, memo=memo)
    bonus = (due * percent / 100).quantize(CENT, rounding=ROUND_DOWN)
    if top_up.first_deposit and bonus > ZERO:
        memo = f"First top-up bonus {percent}%"
        wallet_bonus(
            wallet=wallet, amount=bonus, idempotency_key=key, reference=reference, memo=memo
        )
    top_up.amount_credited = total


def _with_hashes(known: str, new: tuple[str, ...]) -> str:
    hashes = known.split()
    hashes += [h.strip()[:128] for h in new if h.strip() and h.strip() not in hashes]
    return "\n".join(hashes)


def _lock(top_up_id: int) -> TopUp:
    return (
        TopUp.objects.select_for_update(of=("self",)).select_related("processor").get(pk=top_up_id)
    )


# --- operators -----------------------------------------------------------------------------
def topup_credit_manually(
    *, top_up_id: int, amount: Decimal, actor: User, reason: str, token: str
) -> TopUp:
    """An operator's credit for an invoice (a payment the processor never reported), as an
    adjustment with a reason; it counts as credited, so a later report credits only the rest."""
    if amount <= ZERO:
        raise InvalidAmount("A manual credit is positive.")
    with transaction.atomic():
        top_up = _lock(top_up_id)
        key = f"top_up:{top_up.pk}:{token}"
        if LedgerEntry.objects.filter(idempotency_key=f"adjustment:{key}").exists():
            return top_up  # the same form submitted twice
        wallet_adjust(
            wallet=top_up.wallet,
            amount=amount,
            actor=actor,
            reason=f"Top-up #{top_up.pk}: {reason.strip()}" if reason.strip() else "",
            idempotency_key=key,
        )
        before = top_up.amount_credited
        top_up.amount_credited += amount
        top_up.save(update_fields=["amount_credited", "updated_at"])
        audit_record(
            actor=actor,
            action="topup.credit_manually",
            target=top_up,
            before={"amount_credited": before},
            after={"amount_credited": top_up.amount_credited},
            reason=reason.strip(),
            customer=top_up.user,
        )
    return top_up


# --- periodic --------------------------------------------------------------------------------
def topups_due_for_reconciliation(*, batch: int) -> list[int]:
    """Claim up to ``batch`` invoices not asked about for a while (conditional UPDATE, so two
    workers never ask about the same one at once)."""
    now = timezone.now()
    stale = Q(reconciled_at__isnull=True) | Q(
        reconciled_at__lt=now - timedelta(seconds=settings.SMSBOX_TOPUP_RECONCILE_SECONDS)
    )
    candidates = (
        TopUp.objects.filter(stale, status__in=RECONCILED, processor_ref__isnull=False)
        .filter(created_at__gte=now - timedelta(hours=settings.SMSBOX_TOPUP_RECONCILE_HOURS))
        .order_by(F("reconciled_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:batch]
    )
    return [pk for pk in candidates if TopUp.objects.filter(stale, pk=pk).update(reconciled_at=now)]


def topups_expire_due(*, batch: int) -> int:
    """Invoices nobody paid in time become expired (a late payment still reopens them)."""
    due = TopUp.objects.filter(
        status__in=[Status.CREATED, Status.PENDING], expires_at__lt=timezone.now()
    ).values_list("pk", "status")[:batch]
    return sum(
        TopUp.objects.filter(pk=pk, status=status).update(status=Status.EXPIRED)
        for pk, status in due
    )


# --- configuration -----------------------------------------------------------------------------
def payment_processor_add(
    *,
    name: str,
    kind: str,
    base_url: str = "",
    merchant: str = "",
    api_key: str = "",
    secret: str = "",
    store_id: str = "",
    currencies: list[str] | None = None,
    enabled: bool = True,
) -> PaymentProcessor:
    """Configure a processor account; what its protocol needs must be given."""
    processor = PaymentProcessor(
        name=name.strip(),
        kind=kind,
        base_url=base_url.strip(),
        merchant=merchant.strip(),
        api_key=api_key.strip(),
        secret=secret.strip(),
        store_id=store_id.strip(),
        currencies=list(currencies or []),
        enabled=enabled,
    )
    problems = processor_problems(processor)
    if problems:
        raise InvalidInput(" ".join(problems))
    with transaction.atomic():
        processor.save()
    return processor


def processor_problems(processor: PaymentProcessor) -> list[str]:
    """What keeps this configuration from working (the admin form shows the same)."""
    if processor.kind not in PROCESSORS:
        return [f"Unknown kind {processor.kind!r}; use one of {', '.join(PROCESSORS)}."]
    problems = []
    if not slug_re.match(processor.name):
        problems.append("The name is its callback URL's: letters, digits, - and _ only.")
    elif PaymentProcessor.objects.filter(name=processor.name).exclude(pk=processor.pk).exists():
        problems.append(f"A processor named {processor.name!r} exists already.")
    if processor.base_url:
        try:
            URLValidator(schemes=["http", "https"])(processor.base_url)
        except ValidationError:
            problems.append("The base URL must be an http(s) URL.")
    for field in PROCESSORS[processor.kind].needs:
        if not getattr(processor, field):
            label = (
                field.replace("_", " ").replace("store id", "store").replace("api key", "API key")
            )
            problems.append(f"The {processor.get_kind_display()} protocol needs the {label}.")
    if processor.kind == PaymentProcessor.Kind.SANDBOX and not sandbox_allowed():
        problems.append(
            "The sandbox is refused: DEBUG is off and SMSBOX_SANDBOX_PAYMENTS is not true."
        )
    if not isinstance(processor.currencies, list) or not all(
        isinstance(c, str) and c.strip() for c in processor.currencies
    ):
        problems.append("Currencies are a list of currency codes.")
    for entry in processor.allowed_ips.replace(",", " ").split():
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"{entry!r} is not an address or network.")
    return problems


def sandbox_processor_seed_demo() -> PaymentProcessor | None:
    """The demo's sandbox processor (``make run``), created once and then left alone; None
    where the sandbox is refused (DEBUG off, SMSBOX_SANDBOX_PAYMENTS not true)."""
    if not sandbox_allowed():
        return None
    processor = PaymentProcessor.objects.filter(kind=PaymentProcessor.Kind.SANDBOX).first()
    if processor is not None:
        return processor
    return payment_processor_add(
        name="sandbox", kind=PaymentProcessor.Kind.SANDBOX, secret=secrets.token_urlsafe(32)
    )
