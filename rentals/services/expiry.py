"""The expiry sweep's batch on PostgreSQL, set-based: one statement claims up to ``limit`` due
activations (``FOR UPDATE SKIP LOCKED``, so sweeps on several workers take disjoint rows) and
settles them all; their refunds are one ``wallets_refund_batch``. The row-by-row version
(``activations._expire_locked``) does the same one activation at a time, for SQLite and for a
batch whose refunds the ledger refuses.

Same outcome as ``_expire_locked``: waiting without an SMS → expired and refunded, otherwise
(an SMS came) → completed without a refund.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from wallets.services import Reference, RefundLine, wallets_refund_batch

EXPIRED_MEMO = "Expired without an SMS"
COMPLETED_MEMO = "Expired after an SMS"

# ``counters``: the customers' OpenActivations rows, locked in customer order before the
# UPDATE's triggers write them in the order of its rows, so that two sweeps sharing customers
# never wait for each other in a circle (read once, by the one-time filter, before any update).
_SETTLE_DUE = """
WITH due AS (
    SELECT id, user_id FROM rentals_activation
    WHERE state IN ('waiting', 'received', 'resend') AND expires_at <= %(now)s
    ORDER BY expires_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), counters AS (
    SELECT user_id FROM rentals_openactivations
    WHERE user_id IN (SELECT user_id FROM due)
    ORDER BY user_id
    FOR UPDATE
)
UPDATE rentals_activation a
SET state = CASE WHEN a.state = 'waiting' AND a.sms_received_at IS NULL
        THEN 'expired' ELSE 'completed' END,
    settled_at = %(settled_at)s,
    memo = CASE WHEN a.state = 'waiting' AND a.sms_received_at IS NULL
        THEN %(expired)s ELSE %(completed)s END
FROM due WHERE a.id = due.id AND (SELECT count(*) FROM counters) >= 0
RETURNING a.id, a.user_id, a.price, a.state = 'expired', a.display_number,
    a.provider_id IS NOT NULL AND a.upstream_id <> ''
"""


@dataclass(frozen=True)
class Expired:
    id: int
    user_id: int
    refunded: bool
    upstream: bool  # the upstream has a number to close

    @property
    def action(self) -> str:
        return "cancel" if self.refunded else "finish"


def expire_batch_sql(*, limit: int, now: datetime) -> list[Expired]:
    """Settle up to ``limit`` due activations and refund those without an SMS, inside the
    caller's transaction; answers what was settled (``[]``: nothing is due)."""
    settled_at = timezone.now()
    params = {
        "now": now,
        "limit": limit,
        "settled_at": settled_at,
        "expired": EXPIRED_MEMO,
        "completed": COMPLETED_MEMO,
    }
    with connection.cursor() as cursor:
        cursor.execute(_SETTLE_DUE, params)
        rows = cursor.fetchall()
    lines = [
        RefundLine(
            user_id=user_id,
            amount=price,
            reference=Reference("activation", ident),
            memo=f"Activation {display_number}: {EXPIRED_MEMO}",
        )
        for ident, user_id, price, refund, display_number, _ in rows
        if refund and price > 0
    ]
    wallets_refund_batch(lines=lines, now=settled_at)
    return [Expired(id=row[0], user_id=row[1], refunded=row[3], upstream=row[5]) for row in rows]
