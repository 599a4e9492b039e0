"""Copies of database rows kept in Redis that never outlive a committed change.

A copy has two keys: the copy itself and a token that every write of its row changes.

* **Writes drop the copy** (``copies_drop``): at once and, inside a transaction, again after it
  commits, so the copy never outlives a committed change whichever order concurrent
  transactions finish their callbacks in. Dropping also sets a new token.
* **Reads fill it only if nothing was written meanwhile.** A reader that finds no copy has read
  the token along (``copy_read``), then reads the row, and stores what it read only while the
  token is still the one it saw (``copy_fill``, one Lua call). A writer that committed in
  between has changed the token, so a row read before that commit is never stored.
* **A copy lives as long as its caller says** (tens of seconds): that bounds how long it could
  stay stale if a drop were lost (a process killed between its commit and its callback, Redis
  unreachable at that moment).
* **Redis unreachable** (``smsbox.cache``'s back-off) or not configured: reads miss, fills and
  drops do nothing, and callers read the row.

Used for what is read on every request and written rarely: the activations clients poll
(``rentals.activation_cache``), the signed-in user (``smsbox.auth_backends``) and the version of
a customer's open orders that My Numbers polls (``rentals.orders_version``).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from django.db import connection, transaction

from smsbox.cache import REDIS_ERRORS, raw_redis, redis_commands, redis_mark_down, redis_script

logger = logging.getLogger(__name__)

TOKEN_SECONDS = 24 * 3600  # far longer than a read between its token and its fill

# KEYS: copy, token. ARGV: the token the reader saw ('' for none), the copy, its lifetime.
_FILL = """
local seen = redis.call('GET', KEYS[2]) or ''
if seen ~= ARGV[1] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""


def copy_read(copy_key: str, token_key: str) -> tuple[bytes | None, bytes | None]:
    """The copy and the token, in one round trip; two misses when Redis is unreachable."""
    if raw_redis() is None:
        return None, None
    try:
        [(copy, token)] = redis_commands(("MGET", copy_key, token_key))
    except REDIS_ERRORS as exc:
        redis_mark_down(exc)
        return None, None
    return copy, token


def copy_fill(
    copy_key: str, token_key: str, *, seen: bytes | None, value: bytes | str, seconds: int
) -> bool:
    """Store ``value`` as the copy for ``seconds`` unless its row was written since the token
    ``seen`` was read. Answers whether it was stored."""
    if raw_redis() is None:
        return False
    try:
        stored = redis_script(_FILL)(
            keys=(copy_key, token_key), args=[(seen or b"").decode(), value, seconds]
        )
    except REDIS_ERRORS as exc:
        redis_mark_down(exc)
        return False
    return bool(stored)


def copies_drop(keys: Sequence[tuple[str, str]]) -> None:
    """Drop the copies named by their ``(copy key, token key)`` pairs, now and, inside a
    transaction, again after it commits."""
    if not keys or raw_redis() is None:
        return
    pairs = list(keys)
    _drop(pairs)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: _drop(pairs))


def _drop(pairs: list[tuple[str, str]]) -> None:
    if raw_redis() is None:
        return
    commands: list[tuple] = [("MULTI",)]  # MULTI … EXEC: one round trip, all at once
    for copy_key, token_key in pairs:
        commands.append(("SET", token_key, secrets.token_hex(8), "EX", TOKEN_SECONDS))
        commands.append(("DEL", copy_key))
    commands.append(("EXEC",))
    try:
        redis_commands(*commands)
    except REDIS_ERRORS as exc:  # the lifetime of the copies bounds the harm
        redis_mark_down(exc)
    except Exception:  # the lifetime of the copies bounds the harm; the change itself stands
        logger.exception("could not drop the cached copies %s", [copy for copy, _ in pairs])
