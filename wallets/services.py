"""Every money movement of smsbox. Each one locks the wallet row, re-checks and writes the
ledger entry and the new balance in one transaction; a repeated idempotency key is a no-op."""

import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum

from smsbox.instances import bound_cursor
from smsbox.models import User
from smsbox.money import LARGEST, MONEY_DECIMAL_PLACES, ZERO
from wallets.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidAmount,
    RefundExceedsCharge,
)
from wallets.models import LedgerEntry, Wallet

Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class Reference:
    """What caused a movement, named by kind and id, e.g. ``Reference("activation", 42)``."""

    kind: str
    id: str | int

    def key(self, prefix: str) -> str:
        return f"{prefix}:{self.kind}:{self.id}"


def wallet_get_or_create(*, user: User) -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(user=user)
    return wallet


def wallet_deposit(
    *,
    wallet: Wallet,
    amount: Decimal,
    idempotency_key: str,
    reference: Reference | None = None,
    actor: User | None = None,
    memo: str = "",
) -> LedgerEntry:
    """Credit money paid in; ``idempotency_key`` is the processor's transaction id."""
    return _move(
        wallet=wallet,
        kind=Kind.DEPOSIT,
        amount=_positive(amount),
        idempotency_key=f"deposit:{idempotency_key}",
        reference=reference,
        actor=actor,
        memo=memo,
    )


def wallet_bonus(
    *, wallet: Wallet, amount: Decimal, idempotency_key: str, reference: Reference, memo: str = ""
) -> LedgerEntry:
    """A promotional credit (e.g. on a first top-up), its own kind beside the deposit."""
    return _move(
        wallet=wallet,
        kind=Kind.BONUS,
        amount=_positive(amount),
        idempotency_key=f"bonus:{idempotency_key}",
        reference=reference,
        memo=memo,
    )


def wallet_charge(
    *,
    wallet: Wallet,
    amount: Decimal,
    reference: Reference,
    idempotency_key: str | None = None,
    renewal: bool = False,
    memo: str = "",
) -> LedgerEntry:
    """Take money for a purchase (or a rental renewal); ``InsufficientFunds`` writes nothing."""
    kind = Kind.RENEWAL if renewal else Kind.CHARGE
    return _move(
        wallet=wallet,
        kind=kind,
        amount=-_positive(amount),
        idempotency_key=idempotency_key or reference.key(kind),
        reference=reference,
        memo=memo,
    )


def wallet_refund(
    *,
    wallet: Wallet,
    amount: Decimal,
    reference: Reference,
    idempotency_key: str | None = None,
    actor: User | None = None,
    memo: str = "",
) -> LedgerEntry:
    """Give back (part of) what was charged for ``reference``; never more than was charged.
    ``actor`` is the operator who decided it, when one did."""
    return _move(
        wallet=wallet,
        kind=Kind.REFUND,
        amount=_positive(amount),
        idempotency_key=idempotency_key or reference.key(Kind.REFUND),
        reference=reference,
        actor=actor,
        memo=memo,
    )


def wallet_adjust(
    *,
    wallet: Wallet,
    amount: Decimal,
    actor: User,
    reason: str,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """An operator's correction, positive or negative, always with a reason."""
    if not reason.strip():
        raise InvalidAmount("An adjustment needs a reason.")
    return _move(
        wallet=wallet,
        kind=Kind.ADJUSTMENT,
        amount=_signed(amount),
        idempotency_key=f"adjustment:{idempotency_key or uuid.uuid4()}",
        reference=None,
        actor=actor,
        memo=reason.strip()[:255],
    )


def wallet_forfeit(*, wallet: Wallet, reference: Reference, memo: str = "") -> LedgerEntry | None:
    """Take the whole remaining balance, e.g. when its account is deleted. None when empty."""
    with transaction.atomic():
        locked = Wallet.objects.select_for_update().get(pk=wallet.pk)
        key = reference.key(Kind.FORFEIT)
        if locked.balance == ZERO and not LedgerEntry.objects.filter(idempotency_key=key).exists():
            return None
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        return _move(
            wallet=locked,
            kind=Kind.FORFEIT,
            amount=-locked.balance,
            idempotency_key=key,
            reference=reference,
            memo=memo,
        )


def _move(
    *,
    wallet: Wallet,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    reference: Reference | None,
    actor: User | None = None,
    memo: str = "",
) -> LedgerEntry:
    try:
        with transaction.atomic():
            entry, wallet.balance = _write(
                wallet_id=wallet.pk,
                kind=kind,
                amount=amount,
                idempotency_key=idempotency_key,
                reference=reference,
                actor=actor,
                memo=memo,
            )
    except IntegrityError:
        # Another wallet took the same key between our check and our insert.
        existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replayed(existing, wallet_id=wallet.pk, kind=kind, amount=amount)
    return entry


def _write(
    *,
    wallet_id: int,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    reference: Reference | None,
    actor: User | None,
    memo: str,
) -> tuple[LedgerEntry, Decimal]:
    """Lock, re-check, write; answers the entry and the wallet's balance now."""
    locked = Wallet.objects.select_for_update().get(pk=wallet_id)
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replayed(existing, wallet_id=wallet_id, kind=kind, amount=amount), locked.balance
    if kind == Kind.REFUND:
        _check_refundable(wallet_id=wallet_id, reference=reference, amount=amount)
    new_balance = locked.balance + amount
    if new_balance < ZERO:
        raise InsufficientFunds(extra={"balance": str(locked.balance), "amount": str(-amount)})
    locked.balance = new_balance
    locked.save(update_fields=["balance", "updated_at"])
    entry = LedgerEntry.objects.create(
        wallet=locked,
        kind=kind,
        amount=amount,
        balance_after=new_balance,
        reference_kind=reference.kind if reference else "",
        reference_id=str(reference.id) if reference else "",
        idempotency_key=idempotency_key,
        actor=actor,
        memo=memo,
    )
    return entry, new_balance


def _replayed(entry: LedgerEntry, *, wallet_id: int, kind: str, amount: Decimal) -> LedgerEntry:
    if (entry.wallet_id, entry.kind, entry.amount) != (wallet_id, kind, amount):
        raise IdempotencyKeyReused(extra={"idempotency_key": entry.idempotency_key})
    return entry


def _check_refundable(*, wallet_id: int, reference: Reference | None, amount: Decimal) -> None:
    if reference is None:
        raise RefundExceedsCharge("A refund must name what it refunds.")
    net = LedgerEntry.objects.filter(
        wallet_id=wallet_id, reference_kind=reference.kind, reference_id=str(reference.id)
    ).filter(Q(kind__in=[Kind.CHARGE, Kind.RENEWAL, Kind.REFUND]))
    charged_net = -(net.aggregate(total=Sum("amount"))["total"] or ZERO)
    if amount > charged_net:
        raise RefundExceedsCharge(extra={"refundable": str(charged_net), "amount": str(amount)})


def _positive(amount: Decimal) -> Decimal:
    amount = _signed(amount)
    if amount <= ZERO:
        raise InvalidAmount("The amount must be positive.")
    return amount


def _signed(amount: Decimal) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidAmount("Amounts are Decimals.")
    if amount == ZERO:
        raise InvalidAmount("The amount must not be zero.")
    if abs(amount) >= LARGEST or amount.normalize().as_tuple().exponent < -MONEY_DECIMAL_PLACES:
        raise InvalidAmount(f"At most {MONEY_DECIMAL_PLACES} decimal places and below {LARGEST}.")
    return amount


# --- the purchase path's charge, as one statement (PostgreSQL) --------------------------------
# The wallet's row is taken by the conditional UPDATE itself (no SELECT … FOR UPDATE first): it
# waits for a concurrent charge, then re-checks ``balance >= amount`` on the row as committed.
# The CHECK constraint on the balance stays the last line of defence.
_CHARGE_WITH = """
WITH charged AS (
    UPDATE wallets_wallet SET balance = balance - %s, updated_at = %s
    WHERE id = %s AND balance >= %s
    RETURNING id, balance
), entry AS (
    INSERT INTO wallets_ledgerentry (wallet_id, kind, amount, balance_after, reference_kind,
        reference_id, idempotency_key, actor_id, memo, created_at)
    SELECT charged.id, %s, %s, charged.balance, %s, %s, %s, NULL, %s, %s FROM charged
    RETURNING id
), record AS ({record})
SELECT balance FROM charged
"""


def wallet_charge_recording(
    *,
    wallet_id: int,
    amount: Decimal,
    reference: Reference,
    memo: str,
    now,
    record_sql: str,
    record_params: list,
) -> Decimal:
    """``wallet_charge`` of a new reference in one round trip, together with the statement
    that records what was bought: ``record_sql`` is an ``INSERT … SELECT … FROM charged`` that
    writes its row only when the charge went through. PostgreSQL only, inside the caller's
    transaction; answers the balance after the charge or raises ``InsufficientFunds`` (nothing
    written). For a reference never charged before: its idempotency key is new by construction.
    """
    charge = _positive(amount)
    params = [charge, now, wallet_id, charge, Kind.CHARGE, -charge, reference.kind]
    params += [str(reference.id), reference.key(Kind.CHARGE), memo[:255], now, *record_params]
    with bound_cursor() as cursor:
        cursor.execute(_CHARGE_WITH.format(record=record_sql), params)
        row = cursor.fetchone()
        if row is not None:
            return row[0]
        cursor.execute("SELECT balance FROM wallets_wallet WHERE id = %s", [wallet_id])
        balance = cursor.fetchone()[0]
    raise InsufficientFunds(extra={"balance": str(balance), "amount": str(charge)})


_CHARGE_GUARDED = """
WITH guard AS ({guard}), charged AS (
    UPDATE wallets_wallet SET balance = balance - %s, updated_at = %s
    WHERE id = (SELECT wallet_id FROM guard) AND balance >= %s
    RETURNING id, balance
), entry AS (
    INSERT INTO wallets_ledgerentry (wallet_id, kind, amount, balance_after, reference_kind,
        reference_id, idempotency_key, actor_id, memo, created_at)
    SELECT charged.id, %s, %s, charged.balance, %s, guard.reference_id::text,
        %s || guard.reference_id::text, NULL, %s, %s FROM charged, guard
    RETURNING id
), record AS ({record})
SELECT charged.balance, guard.* FROM charged, guard
"""


def wallet_charge_guarded(
    *,
    guard_sql: str,
    guard_params: list,
    amount: Decimal,
    reference_kind: str,
    memo: str,
    now,
    record_sql: str,
    record_params: list,
) -> tuple | None:
    """A charge of a new reference and its record as one statement, whose own first part
    decides whether it may go through: for a purchase that needs no transaction around it.

    ``guard_sql`` is a SELECT of at most one row, with columns ``wallet_id`` (the wallet to
    charge) and ``reference_id`` (the new reference's id, e.g. from a sequence) first; it takes
    the locks the caller's rules need and answers no row when they refuse. ``record_sql`` is an
    ``INSERT … SELECT … FROM charged, guard``. PostgreSQL only. Answers the balance after the
    charge followed by the guard's row, or None when nothing was written (the guard refused, or
    the balance is short): the caller then charges the long way (``wallet_charge_recording`` in
    its transaction), which says why."""
    charge = _positive(amount)
    key_prefix = Reference(reference_kind, "").key(Kind.CHARGE)  # the id is the key's last part
    params = [*guard_params, charge, now, charge, Kind.CHARGE, -charge, reference_kind]
    params += [key_prefix, memo[:255], now, *record_params]
    scope = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with scope, bound_cursor() as cursor:
        cursor.execute(_CHARGE_GUARDED.format(guard=guard_sql, record=record_sql), params)
        return cursor.fetchone()


# --- refunds of a sweep, a batch at a time (PostgreSQL) ---------------------------------------
@dataclass(frozen=True)
class RefundLine:
    """One refund of a batch: the whole charge of ``reference``, made to ``user_id``'s wallet."""

    user_id: int
    amount: Decimal
    reference: Reference
    memo: str


_LOCK_WALLETS = """
SELECT id, user_id, balance FROM wallets_wallet WHERE user_id = ANY(%s) ORDER BY id FOR UPDATE
"""
_KEYS_TAKEN = """
SELECT idempotency_key, wallet_id, amount FROM wallets_ledgerentry WHERE idempotency_key = ANY(%s)
"""
_REFUND_MANY = """
WITH entries AS (
    INSERT INTO wallets_ledgerentry (wallet_id, kind, amount, balance_after, reference_kind,
        reference_id, idempotency_key, actor_id, memo, created_at)
    SELECT wallet_id, 'refund', amount, balance_after, reference_kind, reference_id, key, NULL,
        memo, %s
    FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::text[], %s::text[], %s::text[],
        %s::text[]) AS t(wallet_id, amount, balance_after, reference_kind, reference_id, key, memo)
)
UPDATE wallets_wallet w SET balance = w.balance + t.total, updated_at = %s
FROM unnest(%s::bigint[], %s::numeric[]) AS t(id, total) WHERE w.id = t.id
"""


def wallets_refund_batch(*, lines: list[RefundLine], now) -> int:
    """Refund the whole charge of each line, in three statements whatever their number: lock
    the wallets in primary-key order, check that each reference was charged exactly that amount
    on that wallet and never refunded, then insert every entry and credit every wallet in one
    round trip. PostgreSQL only, inside the caller's transaction. Any line that does not pass
    the check raises ``RefundExceedsCharge`` before anything is written (the caller rolls the
    batch back and refunds one at a time through ``wallet_refund``). Answers the entries
    written."""
    if not lines:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_WALLETS, [sorted({line.user_id for line in lines})])
        wallets = {user_id: (wallet_id, balance) for wallet_id, user_id, balance in cursor}
        charges = [line.reference.key(Kind.CHARGE) for line in lines]
        refunds = [line.reference.key(Kind.REFUND) for line in lines]
        cursor.execute(_KEYS_TAKEN, [charges + refunds])
        taken = {key: (wallet_id, amount) for key, wallet_id, amount in cursor}
        columns = _refund_columns(lines, wallets, taken)
        totals: dict[int, Decimal] = {}
        for wallet_id, amount in zip(columns[0], columns[1], strict=True):
            totals[wallet_id] = totals.get(wallet_id, ZERO) + amount
        cursor.execute(_REFUND_MANY, [now, *columns, now, list(totals), list(totals.values())])
    return len(lines)


def _refund_columns(lines: list[RefundLine], wallets: dict, taken: dict) -> list[list]:
    """The entries' columns, each ``balance_after`` the running balance of its wallet."""
    balances = {wallet_id: balance for wallet_id, balance in wallets.values()}
    columns: list[list] = [[] for _ in range(7)]
    for line in lines:
        amount = _positive(line.amount)
        wallet_id = wallets.get(line.user_id, (None, None))[0]
        charge = taken.get(line.reference.key(Kind.CHARGE))
        if wallet_id is None or charge != (wallet_id, -amount):
            raise RefundExceedsCharge(extra={"reference": line.reference.key(Kind.CHARGE)})
        if line.reference.key(Kind.REFUND) in taken:
            raise RefundExceedsCharge(extra={"reference": line.reference.key(Kind.REFUND)})
        balances[wallet_id] += amount
        row = (wallet_id, amount, balances[wallet_id], line.reference.kind, str(line.reference.id))
        row += (line.reference.key(Kind.REFUND), line.memo[:255])
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns
