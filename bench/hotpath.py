"""Where a request of the polling path spends its time, inside one process (no HTTP server).

    .venv/bin/python bench/hotpath.py [--requests 2000] [--top 25] [--endpoint getStatus]

Runs against the database that ``bench/run.py`` prepared (``smsbox_bench`` and Redis db 9 unless
DATABASE_URL and REDIS_URL say otherwise), with bench/run.py's settings (DEBUG off), through
Django's test client (the same middleware, URL resolver and views as under gunicorn). For
``/healthz/ping``, ``getStatus``, the REST activation detail and ``getNumber`` it prints the mean
time per request (wall clock and this process's CPU), the SQL queries, transactions and Redis
round trips each request makes, and with ``--top`` the functions that take the most CPU time
(cProfile).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
API_KEY = "BenchKey" + "0123456789abcdefghijklmnopqrstuv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--endpoint", action="append", help="only these (repeatable)")
    args = parser.parse_args()
    from bench.run import _environment

    os.environ.update(_environment(args))  # bench/run.py's database, Redis db and settings
    os.environ["ALLOWED_HOSTS"] += ",testserver"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsbox.settings")
    import django

    django.setup()
    from django.test import Client

    client = Client()
    handler = f"/stubs/handler_api.php?api_key={API_KEY}"
    answer = client.get(f"{handler}&action=getNumber&service=tg&country=187").content.decode()
    if not answer.startswith("ACCESS_NUMBER:"):
        raise SystemExit(f"getNumber answered {answer!r}: seed the database first")
    ident = answer.split(":")[1]
    endpoints = {
        "ping": (client, "/healthz/ping", {}, 200),
        "getStatus": (client, f"{handler}&action=getStatus&id={ident}", {}, 200),
        "detail": (client, f"/api/v1/activations/{ident}/", {"HTTP_X_API_KEY": API_KEY}, 200),
        "getNumber": (client, f"{handler}&action=getNumber&service=tg&country=187", {}, 200),
    }
    poll = _poll_client()
    if poll is not None:
        endpoints["poll"] = poll
    wanted = args.endpoint or list(endpoints)
    print(f"{'endpoint':<12}{'µs/req':>10}{'cpu µs':>8}{'queries':>9}{'atomic':>8}{'redis':>7}")
    for name in wanted:
        own_client, url, headers, status = endpoints[name]
        count = max(50, args.requests // 10) if name == "getNumber" else args.requests
        _measure(own_client, name, url, headers, count, args.top, status)
    return 0


def _poll_client():
    """The My Numbers poll of bench/run.py's customer with 20 open orders (signed in by a
    client of its own), as a browser sends it: with the digest, 204 while nothing changed."""
    from django.test import Client

    from smsbox.models import User

    user = User.objects.filter(email="numbers@bench.example").first()
    if user is None:
        return None
    client = Client()
    client.force_login(user)
    page = client.get("/numbers/live/").content.decode()
    digest = re.search(r"\?v=(\w+)", page).group(1)
    return client, f"/numbers/live/?v={digest}", {}, 204


def _measure(client, name, url, headers, count, top, status=200) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):  # warm caches and connections
        response = client.get(url, **headers)
        assert response.status_code == status, response.content
    redis_calls = _RedisCounter()
    with CaptureQueriesContext(connection) as queries, redis_calls:
        response = client.get(url, **headers)
    atomic = sum(1 for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT"))
    atomic += sum(1 for q in queries.captured_queries if q["sql"] == "BEGIN")
    statements = [q["sql"] for q in queries.captured_queries]
    profile = cProfile.Profile(time.process_time) if top else None  # CPU, not waits
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    for _ in range(count):
        client.get(url, **headers)
    if profile:
        profile.disable()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{name:<12}{elapsed / count * 1e6:>10.0f}{cpu / count * 1e6:>8.0f}"
        f"{len(statements):>9}{atomic:>8}"
        f"{redis_calls.count:>7}"
    )
    if os.environ.get("PROFILE_SQL"):
        for sql in statements:
            print("    ", sql[:200])
    if profile:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)


class _RedisCounter:
    """Counts round trips to Redis: every command or pipeline is one packed send."""

    def __enter__(self):
        from redis.connection import AbstractConnection

        self.count = 0
        self._original = original = AbstractConnection.send_packed_command

        def counting(conn, command, check_health=True):
            self.count += 1
            return original(conn, command, check_health)

        AbstractConnection.send_packed_command = counting
        return self

    def __exit__(self, *exc):
        from redis.connection import AbstractConnection

        AbstractConnection.send_packed_command = self._original


if __name__ == "__main__":
    sys.exit(main())
