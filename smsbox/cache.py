"""Django's Redis cache backend, keeping one redis-py client per connection pool, and answering
as an empty cache while Redis is unreachable.

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` object for every cache call, which
costs more than the round trip itself on the paths clients poll and buy on (rate limits,
circuit breakers). redis-py clients are thread-safe and share their pool, so one per pool is
enough; the pool itself still reconnects after a fork. Reads (``get``, ``get_many``), the most
frequent calls, skip the client altogether: they go through ``redis_commands`` on the thread's
own connection, with Django's keys and values.

**Degraded mode.** Selling numbers must not depend on a cache being up. Every call has a short
socket timeout (``SMSBOX_REDIS_TIMEOUT``, set in ``CACHES``); a call that cannot reach Redis
marks it down for ``SMSBOX_REDIS_RETRY_SECONDS``, during which no call tries it again (a dead
or paused Redis costs one timeout per process per back-off, not one per call). Meanwhile the
cache answers as an empty one: reads miss, writes and deletes are dropped, ``add`` answers True
(nothing stops the caller) and ``incr`` raises ``ValueError`` as for a missing key. The first
call after the back-off tries Redis again, so everything resumes without a restart. Code using
the raw client (``raw_redis``) follows the same rule through
``redis_down`` / ``redis_mark_down``.
"""

import hashlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache.backends import redis as django_redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.signals import setting_changed
from django.dispatch import receiver
from redis import exceptions as redis_exceptions

logger = logging.getLogger(__name__)

# What "Redis is unreachable" looks like (refused, reset, timed out, still loading its data).
REDIS_ERRORS: tuple[type[Exception], ...] = (
    redis_exceptions.ConnectionError,
    redis_exceptions.TimeoutError,
)

_down_until = 0.0  # time.monotonic() until which Redis is not tried again


def redis_down() -> bool:
    """Whether Redis failed less than ``SMSBOX_REDIS_RETRY_SECONDS`` ago (do not try it)."""
    return time.monotonic() < _down_until


def redis_mark_down(exc: BaseException) -> None:
    """Note that a call could not reach Redis: no call tries it again during the back-off."""
    global _down_until
    if not redis_down():
        logger.warning(
            "Redis unreachable (%s: %s): running without it for %ss",
            type(exc).__name__,
            exc,
            settings.SMSBOX_REDIS_RETRY_SECONDS,
        )
    _down_until = time.monotonic() + settings.SMSBOX_REDIS_RETRY_SECONDS


def redis_mark_up() -> None:
    """Forget a back-off (tests; an operator's shell)."""
    global _down_until
    _down_until = 0.0


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


_MISSING = object()


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    def _guarded(self, name: str, fallback: Any, *args: Any) -> Any:
        """Django's ``name`` call, or ``fallback`` while Redis is unreachable."""
        if redis_down():
            return fallback
        try:
            return getattr(super(), name)(*args)
        except REDIS_ERRORS as exc:
            redis_mark_down(exc)
            return fallback

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded("add", True, key, value, timeout, version)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        found = self._read([self.make_and_validate_key(key, version=version)])
        return default if not found or found[0] is None else self._cache._serializer.loads(found[0])

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded("set", None, key, value, timeout, version)

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded("touch", False, key, timeout, version)

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._guarded("delete", False, key, version)

    def get_many(self, keys: Any, version: Any = None) -> Any:
        made = {self.make_and_validate_key(key, version=version): key for key in keys}
        found = self._read(list(made)) if made else []
        loads = self._cache._serializer.loads
        return {made[k]: loads(v) for k, v in zip(made, found, strict=False) if v is not None}

    def _read(self, keys: list[str]) -> list[Any]:
        """The raw values of ``keys`` (None for a missing one) in one round trip on this
        thread's own connection (``redis_commands``: reads are what purchases and pages make
        most); nothing (every key missing) while Redis is unreachable."""
        if redis_down():
            return []
        try:
            command = ("GET", keys[0]) if len(keys) == 1 else ("MGET", *keys)
            [reply] = redis_commands(
                command, pool=self._cache.get_client(write=True).connection_pool
            )
        except REDIS_ERRORS as exc:
            redis_mark_down(exc)
            return []
        return [reply] if len(keys) == 1 else reply

    def has_key(self, key: Any, version: Any = None) -> Any:
        return self._guarded("has_key", False, key, version)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> Any:
        value = self._guarded("incr", _MISSING, key, delta, version)
        if value is _MISSING:
            raise ValueError(f"Key '{key}' not found (Redis unreachable)")
        return value

    def set_many(self, data: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> Any:
        return self._guarded("set_many", list(data), data, timeout, version)

    def delete_many(self, keys: Any, version: Any = None) -> Any:
        return self._guarded("delete_many", None, keys, version)

    def clear(self) -> Any:
        return self._guarded("clear", False)


# --- the raw client, and the hot paths' commands on a connection of their own ------------------
def raw_redis() -> Any | None:
    """The raw redis-py client behind the default cache, or None for other cache backends and
    while Redis is unreachable (``redis_down``): callers then do without it. A caller whose call
    fails with one of ``REDIS_ERRORS`` calls ``redis_mark_down``.

    Kept once per process (building a client object costs more than the round trip) and
    forgotten when the CACHES setting changes (tests)."""
    global _client
    if _client is _UNSET:
        from django.core.cache import caches

        backend = caches["default"]  # ``cache`` is a proxy, not the backend itself
        redis = isinstance(backend, django_redis.RedisCache)
        _client = backend._cache.get_client(write=True) if redis else None
    if _client is not None and redis_down():
        return None
    return _client


def cache_raw_key(key: str) -> str | None:
    """``key`` of the default cache as Redis stores it (prefix and version included), for a
    caller that reads it along with a round trip of its own (``cache_raw_value``); None when
    the cache is not Redis."""
    from django.core.cache import caches

    backend = caches["default"]
    return backend.make_and_validate_key(key) if isinstance(backend, RedisCache) else None


def cache_raw_value(raw: bytes) -> Any:
    """The value that a key of ``cache_raw_key`` held, as ``cache.get`` would answer it."""
    from django.core.cache import caches

    return caches["default"]._cache._serializer.loads(raw)


def redis_configured() -> bool:
    """Whether the cache is Redis (so ``raw_redis()`` answering None means it is down)."""
    raw_redis()
    return _client is not None


def redis_script(source: str) -> "Script":
    """The Lua script ``source``, once per process: calling it with ``keys`` and ``args`` runs
    it by EVALSHA (by EVAL, which stores it again, when the server forgot it) on this thread's
    own connection (``redis_commands``) and answers its reply."""
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = Script(source)
    return script


class Script:
    """A Lua script of ``redis_script``, run by its SHA1 (Redis's own name for it)."""

    def __init__(self, source: str) -> None:
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 (Redis's own name)

    def __call__(self, *, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        try:
            return redis_commands(("EVALSHA", self._sha, len(keys), *keys, *args))[0]
        except redis_exceptions.NoScriptError:
            return redis_commands(("EVAL", self._source, len(keys), *keys, *args))[0]


def redis_commands(*commands: Sequence[Any], pool: Any = None) -> list[Any]:
    """Send ``commands`` to ``raw_redis()``'s server (or ``pool``'s) together, in one round
    trip, on this thread's own connection; their replies in order (an error reply is raised, as
    are ``REDIS_ERRORS``). For the paths clients poll and buy on.

    redis-py takes a connection from its pool for every call and first asks the socket whether
    it holds unread data, a probe that costs about as much CPU as the round trip itself. A
    connection that only one thread uses and that is disconnected after any failure (so that no
    reply is ever left unread on it; the next call reconnects) needs no such probe. A forked
    child makes its own."""
    if pool is None:
        client = raw_redis()
        if client is None:
            raise redis_exceptions.ConnectionError("Redis is marked unreachable.")
        pool = client.connection_pool
    connection = _thread_connection(pool)
    try:
        if len(commands) == 1:
            connection.send_command(*commands[0])
        else:
            connection.send_packed_command(connection.pack_commands(commands))
        return [connection.read_response() for _ in commands]
    except BaseException:
        connection.disconnect()
        raise


def _thread_connection(pool: Any) -> Any:
    """This thread's own connection to the server of ``pool`` (with its settings, timeouts
    included), one per pool, made anew in a forked child."""
    own = _threads
    if getattr(own, "pid", None) != os.getpid():
        own.pid, own.connections = os.getpid(), weakref.WeakKeyDictionary()
    connection = own.connections.get(pool)
    if connection is None:
        connection = own.connections[pool] = pool.connection_class(**pool.connection_kwargs)
    return connection


_threads = threading.local()


_UNSET = object()
_client: Any = _UNSET
_scripts: dict[str, Any] = {}


@receiver(setting_changed)
def _forget_client(*, setting: str, **kwargs: Any) -> None:
    global _client
    if setting == "CACHES":
        _client = _UNSET
        _scripts.clear()


def redis_status() -> str | None:
    """ "up" or "down" for the Redis behind the default cache (one PING, unless it is in its
    back-off); None when the cache is not Redis."""
    from django.core.cache import caches

    backend = caches["default"]
    if not isinstance(backend, django_redis.RedisCache):
        return None
    if redis_down():
        return "down"
    try:
        backend._cache.get_client(write=True).ping()
    except REDIS_ERRORS as exc:
        redis_mark_down(exc)
        return "down"
    return "up"
