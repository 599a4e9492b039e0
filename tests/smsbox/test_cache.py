"""The Redis cache backend keeps one redis-py client per connection pool; the hot paths' commands
and scripts run on each thread's own connection."""

import os
import threading

import pytest
from django.core.cache import cache, caches
from redis import exceptions as redis_exceptions

from smsbox.cache import RedisCache, _thread_connection, raw_redis, redis_commands, redis_script


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


def test_reads_answer_what_was_stored_on_this_threads_own_connection(monkeypatch):
    """``get`` and ``get_many`` read in one round trip on the thread's own connection (not
    one of the pool's), with Django's keys and values: numbers stored as they are, the rest
    pickled."""
    cache.set("smsbox:test:r1", {"a": [1, 2]}, timeout=5)
    cache.set("smsbox:test:r2", 7, timeout=5)
    cache.set("smsbox:test:r3", "three", timeout=5, version=2)
    own = _thread_connection(caches["default"]._cache.get_client(write=True).connection_pool)
    sent = []
    send = own.send_command
    monkeypatch.setattr(own, "send_command", lambda *args: sent.append(args[0]) or send(*args))
    assert cache.get("smsbox:test:r1") == {"a": [1, 2]}
    assert cache.get("smsbox:test:none", "default") == "default"
    assert cache.get("smsbox:test:r3") is None and cache.get("smsbox:test:r3", version=2) == "three"
    assert cache.get_many(["smsbox:test:r1", "smsbox:test:none", "smsbox:test:r2"]) == {
        "smsbox:test:r1": {"a": [1, 2]},
        "smsbox:test:r2": 7,
    }
    assert cache.get_many([]) == {}
    assert sent == ["GET", "GET", "GET", "GET", "MGET"]


# --- scripts and commands on each thread's own connection -------------------------------------
_ECHO = "return {KEYS[1], ARGV[1]}"


def test_a_script_answers_its_reply_and_is_stored_again_when_the_server_forgot_it():
    script = redis_script(_ECHO)
    assert script(keys=["k"], args=["first"]) == [b"k", b"first"]
    raw_redis().script_flush()
    assert script(keys=["k"], args=["again"]) == [b"k", b"again"]  # by EVAL, which stores it
    assert raw_redis().script_exists(script._sha) == [True]


def test_a_call_that_failed_before_its_reply_was_read_leaves_no_reply_for_the_next(monkeypatch):
    script = redis_script(_ECHO)
    assert script(keys=["k"], args=["warm"]) == [b"k", b"warm"]
    connection = _thread_connection(raw_redis().connection_pool)
    read = connection.read_response

    def timed_out(*args, **kwargs):
        monkeypatch.setattr(connection, "read_response", read)
        raise redis_exceptions.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(connection, "read_response", timed_out)
    with pytest.raises(redis_exceptions.TimeoutError):
        script(keys=["k"], args=["lost"])  # its reply is left unread on the socket
    assert script(keys=["k"], args=["next"]) == [b"k", b"next"]


def test_an_error_reply_keeps_the_connection_in_step():
    failing = redis_script("return redis.error_reply('NOPE')")
    with pytest.raises(redis_exceptions.ResponseError, match="NOPE"):
        failing()
    assert redis_script(_ECHO)(keys=["k"], args=["after"]) == [b"k", b"after"]


def test_threads_and_forked_children_run_scripts_on_connections_of_their_own():
    script = redis_script(_ECHO)
    assert script(keys=["k"], args=["parent"]) == [b"k", b"parent"]
    mine_pool = raw_redis().connection_pool
    mine = _thread_connection(mine_pool)
    seen = {}

    def worker(n: int) -> None:
        seen[n] = (script(keys=["k"], args=[str(n)]), _thread_connection(mine_pool))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [seen[n][0] for n in range(3)] == [[b"k", str(n).encode()] for n in range(3)]
    assert len({id(mine), *(id(seen[n][1]) for n in range(3))}) == 4
    child = os.fork()
    if child == 0:  # the child: its own connection, its own reply
        ok = script(keys=["k"], args=["child"]) == [b"k", b"child"]
        ok = ok and _thread_connection(mine_pool) is not mine
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert script(keys=["k"], args=["parent again"]) == [b"k", b"parent again"]


def test_commands_sent_together_answer_their_replies_in_order():
    replies = redis_commands(
        ("MULTI",), ("SET", "smsbox:test:a", "1"), ("INCR", "smsbox:test:a"), ("EXEC",)
    )
    assert replies == [b"OK", b"QUEUED", b"QUEUED", [b"OK", 2]]
    assert redis_commands(("MGET", "smsbox:test:a", "smsbox:test:none")) == [[b"2", None]]


def test_an_error_reply_amid_commands_leaves_none_of_the_later_replies_for_the_next_call():
    raw_redis().set("smsbox:test:a", "mine")
    raw_redis().set("smsbox:test:b", "stale")
    with pytest.raises(redis_exceptions.ResponseError):
        redis_commands(("INCR", "smsbox:test:b"), ("GET", "smsbox:test:b"))  # not a number
    assert redis_commands(("GET", "smsbox:test:a")) == [b"mine"]


def test_commands_while_redis_is_marked_unreachable_raise_as_unreachable(monkeypatch):
    monkeypatch.setattr("smsbox.cache.redis_down", lambda: True)
    with pytest.raises(redis_exceptions.ConnectionError):
        redis_commands(("GET", "smsbox:test:a"))
