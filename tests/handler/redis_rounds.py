"""Counting round trips to Redis in tests: every command or pipeline is one packed send."""

from redis.connection import AbstractConnection

from smsbox.cache import raw_redis


class RedisRoundTrips:
    """``with RedisRoundTrips() as redis: …`` then ``redis.count``."""

    def __enter__(self) -> "RedisRoundTrips":
        self.count = 0
        self._original = original = AbstractConnection.send_packed_command

        def counting(conn, command, check_health=True):
            self.count += 1
            return original(conn, command, check_health)

        AbstractConnection.send_packed_command = counting
        return self

    def __exit__(self, *exc) -> None:
        AbstractConnection.send_packed_command = self._original

    @staticmethod
    def keys(pattern: str) -> list[bytes]:
        return raw_redis().keys(pattern)

    @staticmethod
    def delete(pattern: str) -> None:
        client = raw_redis()
        for key in client.keys(pattern):
            client.delete(key)
