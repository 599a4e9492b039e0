"""The Redis cache backend keeps one redis-py client per connection pool."""

import threading

from django.core.cache import cache, caches

from smsbox.cache import RedisCache


def test_the_cache_reuses_its_client_and_still_works():
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    client = backend._cache.get_client(write=True)
    assert backend._cache.get_client(write=True) is client
    cache.set("smsbox:test:cache", {"a": 1}, timeout=5)
    assert cache.get("smsbox:test:cache") == {"a": 1}
    assert cache.incr(cache.add("smsbox:test:n", 0) and "smsbox:test:n") == 1


def test_threads_share_the_server_through_their_own_backends():
    seen = []

    def worker(n: int) -> None:
        caches["default"].set(f"smsbox:test:t{n}", n, timeout=5)
        seen.append(caches["default"].get(f"smsbox:test:t{n}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == [0, 1, 2, 3]
