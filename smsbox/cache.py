"""Django's Redis cache backend, keeping one redis-py client per connection pool.

Django's ``RedisCacheClient`` builds a new ``redis.Redis`` object for every cache call, which
costs more than the round trip itself on the paths clients poll and buy on (rate limits,
circuit breakers). redis-py clients are thread-safe and share their pool, so one per pool is
enough; the pool itself still reconnects after a fork.
"""

from typing import Any

from django.core.cache.backends import redis as django_redis


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


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
