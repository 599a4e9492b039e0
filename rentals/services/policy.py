"""Spend policy: a customer's max price per activation, daily cap and concurrent activations.

The checks run inside the purchase's first transaction with the customer's row locked, so two
purchases of one customer cannot both pass a limit that only one of them fits.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from rentals.errors import (
    ChannelsLimit,
    DailyCapReached,
    MaxPriceLimit,
    PurchasesSuspended,
    SpendPolicyTooLoose,
)
from rentals.models import Activation, SpendPolicy
from smsbox.errors import InvalidInput
from smsbox.instances import sql_constants
from smsbox.models import User
from smsbox.money import ZERO, format_money

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EffectivePolicy:
    max_price: Decimal | None
    daily_cap: Decimal | None
    max_concurrent: int | None


def spend_policy_effective(*, user: User) -> EffectivePolicy:
    """The customer's own limits, each falling back to the setting of their tier."""
    own = SpendPolicy.objects.filter(user=user).first()
    return spend_policy_of(
        user=user, own=(own.max_price, own.daily_cap, own.max_concurrent) if own else None
    )


def spend_policy_of(*, user: User, own: tuple | None) -> EffectivePolicy:
    """``spend_policy_effective`` from the customer's own limits already read: ``own`` is their
    SpendPolicy's (max price, daily cap, max concurrent), None when they have none."""
    tier = spend_policy_tier(user=user)
    max_price, daily_cap, max_concurrent = own or (None, None, None)
    return EffectivePolicy(
        max_price=tier.max_price if max_price is None else max_price,
        daily_cap=tier.daily_cap if daily_cap is None else daily_cap,
        max_concurrent=tier.max_concurrent if max_concurrent is None else max_concurrent,
    )


def spend_policy_set(
    *,
    user: User,
    max_price: Decimal | None = None,
    daily_cap: Decimal | None = None,
    max_concurrent: int | None = None,
) -> SpendPolicy:
    """Set the customer's own limits (None = the tier's default)."""
    if max_price is not None and max_price <= ZERO:
        raise InvalidInput("The max price must be positive.")
    if daily_cap is not None and daily_cap < ZERO:
        raise InvalidInput("The daily cap cannot be negative.")
    if max_concurrent is not None and max_concurrent < 0:
        raise InvalidInput("The maximum of concurrent activations cannot be negative.")
    with transaction.atomic():
        policy, _ = SpendPolicy.objects.update_or_create(
            user=user,
            defaults={
                "max_price": max_price,
                "daily_cap": daily_cap,
                "max_concurrent": max_concurrent,
            },
        )
    return policy


def spend_policy_tier(*, user: User) -> EffectivePolicy:
    """The limits of the customer's tier (settings), before their own policy."""
    tier = "BUSINESS" if user.tier == User.Tier.BUSINESS else "STANDARD"
    return EffectivePolicy(
        max_price=getattr(settings, f"SMSBOX_MAX_PRICE_{tier}"),
        daily_cap=getattr(settings, f"SMSBOX_DAILY_CAP_{tier}"),
        max_concurrent=getattr(settings, f"SMSBOX_MAX_CONCURRENT_{tier}"),
    )


def spend_policy_tighten(
    *,
    user: User,
    max_price: Decimal | None = None,
    daily_cap: Decimal | None = None,
    max_concurrent: int | None = None,
) -> SpendPolicy:
    """The customer's own limits, set by the customer: each at most their tier's limit (None:
    the tier's limit). Only operators (``spend_policy_set``) may go above the tier."""
    tier = spend_policy_tier(user=user)
    wanted = {"max_price": max_price, "daily_cap": daily_cap, "max_concurrent": max_concurrent}
    for field, value in wanted.items():
        ceiling = getattr(tier, field)
        if value is not None and ceiling is not None and value > ceiling:
            raise SpendPolicyTooLoose(extra={"field": field, "max": str(ceiling)})
    return spend_policy_set(user=user, **wanted)


def spend_policy_check_price(*, policy: EffectivePolicy, price: Decimal) -> None:
    if policy.max_price is not None and price > policy.max_price:
        raise MaxPriceLimit(
            f"The number costs {format_money(price)}, above your maximum of "
            f"{format_money(policy.max_price)} per activation.",
            extra={"min_price": format_money(price)},
        )


def purchases_allowed_check(*, user: User) -> None:
    """``PurchasesSuspended`` when an operator blocked the account or the abuse rule
    suspended its purchases."""
    if user.blocked_at is not None or user.purchases_suspended_at is not None:
        raise PurchasesSuspended(extra={"reason": user.suspension_reason or user.block_reason})


def spend_policy_check_locked(*, user: User, policy: EffectivePolicy, price: Decimal) -> None:
    """Daily cap and concurrency; call with the user's row locked."""
    open_count = spent = None
    if policy.max_concurrent is not None:
        open_count = Activation.objects.filter(user=user, state__in=Activation.OPEN_STATES).count()
    if policy.daily_cap is not None:
        spent = _spent_since(user=user, since=_start_of_day())
    _check_totals(policy=policy, price=price, open_count=open_count, spent=spent)


def spend_policy_check_locked_sql(
    *, user_id: int, policy: EffectivePolicy, price: Decimal, open_count: int | None = None
) -> None:
    """``spend_policy_check_locked`` on PostgreSQL: the customer's open activations (their
    ``OpenActivations`` row, kept by triggers: one row however many they have open) and, when a
    daily cap is set, today's spending (through their recent activations).

    Call with the user's row locked, in a statement after the one that took the lock, so that it
    sees every purchase committed before. ``open_count``: what the caller read with
    ``LOCK_OPEN_COUNT`` in such a statement, else it is read here. That statement locks the
    ``OpenActivations`` row even when no limit is set: the purchase's insert writes that row, and
    it must be locked before the wallet (the order in which a cancel or an expiry takes them)."""
    with connection.cursor() as cursor:
        if open_count is None:
            cursor.execute(LOCK_OPEN_COUNT, [user_id])
            open_count = cursor.fetchone()[0]
        spent = None
        if policy.daily_cap is not None:
            cursor.execute(_SPENT, [user_id, _start_of_day()])
            spent = cursor.fetchone()[0]
    if policy.max_concurrent is None:
        open_count = None
    _check_totals(policy=policy, price=price, open_count=open_count, spent=spent)


_REFUNDED = sql_constants(Activation.REFUNDED_STATES)
# The customer's count of open activations, its row locked (0 before their first purchase).
LOCK_OPEN_COUNT = (
    "SELECT coalesce((SELECT open_count FROM rentals_openactivations "
    "WHERE user_id = %s FOR UPDATE), 0)"
)
_COUNT_ROW = (
    "INSERT INTO rentals_openactivations (user_id, open_count) VALUES (%s, 0) "
    "ON CONFLICT (user_id) DO NOTHING"
)
_OPEN_OF = (
    "SELECT count(*) FROM rentals_activation "  # noqa: S608 (constants)
    f"WHERE user_id = %s AND state IN ({sql_constants(Activation.OPEN_STATES)})"
)
_SET_COUNT = "UPDATE rentals_openactivations SET open_count = %s WHERE user_id = %s"
_SPENT = (
    "SELECT coalesce(sum(price), 0) FROM rentals_activation "  # noqa: S608 (constants)
    f"WHERE user_id = %s AND created_at >= %s AND state NOT IN ({_REFUNDED})"
)


# What both ways of step 1 read under the customer's lock (``u``, their row): the activation's
# id, drawn before its insert, and the numbers they banned (never to be given to them again).
NEXT_ACTIVATION_ID = "nextval(pg_get_serial_sequence('rentals_activation', 'id'))"
BANNED_NUMBERS = "ARRAY(SELECT b.phone FROM rentals_numberban b WHERE b.user_id = u.id)"


# The customer's row and count of open activations locked (in that order: the order of
# ``LOCK_OPEN_COUNT``), answering their wallet's id, a fresh activation id and their banned
# numbers only when the purchase passes their limits and they set no daily cap. A row whose
# lock waited for another transaction is read as that one committed it (PostgreSQL checks the
# conditions again on it), so the count is the latest; a customer without a count row or a
# wallet yet gets no row either.
_GUARD = f"""
SELECT w.id AS wallet_id, {NEXT_ACTIVATION_ID} AS reference_id, {BANNED_NUMBERS}
FROM smsbox_user u
JOIN rentals_openactivations o ON o.user_id = u.id
JOIN wallets_wallet w ON w.user_id = u.id
LEFT JOIN rentals_spendpolicy p ON p.user_id = u.id
WHERE u.id = %s AND p.daily_cap IS NULL
    AND (coalesce(p.max_price, %s) IS NULL OR %s <= coalesce(p.max_price, %s))
    AND (coalesce(p.max_concurrent, %s) IS NULL OR o.open_count < coalesce(p.max_concurrent, %s))
FOR NO KEY UPDATE OF u FOR UPDATE OF o
"""  # noqa: S608 (constants)


def spend_policy_guard(*, user: User, price: Decimal) -> tuple[str, list] | None:
    """A statement (and its parameters) that locks the customer as a purchase does and answers
    a row only for a purchase of ``price`` within their limits, for ``wallet_charge_guarded``:
    columns ``wallet_id``, ``reference_id`` (the activation's id) and their banned numbers.
    PostgreSQL only. None when their tier has a daily cap: today's spending can only be summed
    in a statement after the one that took the lock (``spend_policy_check_locked_sql``), so a
    daily cap, their own or their tier's, is never passed here."""
    tier = spend_policy_tier(user=user)
    if tier.daily_cap is not None:
        return None
    max_price, max_concurrent = tier.max_price, tier.max_concurrent
    return _GUARD, [user.pk, max_price, price, max_price, max_concurrent, max_concurrent]


def open_count_repair(*, user_id: int) -> int | None:
    """Set customer ``user_id``'s count of open activations (``OpenActivations``) to the number
    of their open activations; None when it was right already, else the count written. For
    ``check_open_counts --repair``; PostgreSQL only.

    It takes the locks a purchase takes, in its order (the customer, then the count row) and
    counts in a statement after them: a purchase of theirs waits for the customer, a cancel or
    an expiry that changes an activation's openness waits for the count row (its trigger writes
    it) or, when it came first, is waited for. Either way the count is exact when written, and
    their next change adds to it or takes from it as usual."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM smsbox_user WHERE id = %s FOR NO KEY UPDATE", [user_id])
        cursor.execute(_COUNT_ROW, [user_id])
        cursor.execute(LOCK_OPEN_COUNT, [user_id])
        kept = cursor.fetchone()[0]
        cursor.execute(_OPEN_OF, [user_id])
        actual = cursor.fetchone()[0]
        if actual == kept:
            return None
        cursor.execute(_SET_COUNT, [actual, user_id])
    logger.warning(
        "count of open activations of customer %s was %s, set to %s", user_id, kept, actual
    )
    return actual


def _check_totals(
    *, policy: EffectivePolicy, price: Decimal, open_count: int | None, spent: Decimal | None
) -> None:
    if policy.max_concurrent is not None and open_count >= policy.max_concurrent:
        raise ChannelsLimit(
            f"You have {open_count} open activations; your limit is {policy.max_concurrent}.",
            extra={"limit": policy.max_concurrent},
        )
    if policy.daily_cap is not None and spent + price > policy.daily_cap:
        raise DailyCapReached(
            f"You spent {format_money(spent)} today; your daily cap is "
            f"{format_money(policy.daily_cap)}.",
            extra={"spent": format_money(spent), "cap": format_money(policy.daily_cap)},
        )


def _spent_since(*, user: User, since: datetime) -> Decimal:
    total = (
        Activation.objects.filter(user=user, created_at__gte=since)
        .exclude(state__in=Activation.REFUNDED_STATES)
        .aggregate(total=Sum("price"))["total"]
    )
    return total or ZERO


def _start_of_day() -> datetime:
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
