"""Benchmark of the polling path: requests/s of the handler's getStatus, the REST activation
detail and getNumber (simulator, no delay), and of the dashboard's My Numbers (the poll a
browser sends every 2 s, 204 while nothing changed; the fragment rendered; the full page) for
a signed-in customer with 20 open orders
(18 activations, 6 of them with an SMS, and 2 rentals), each as a ratio to /healthz/ping in
the same run.

    .venv/bin/python bench/run.py [--duration 10] [--connections 16] [--workers 4]
                                  [--only "My Numbers"]

Starts smsbox under gunicorn against PostgreSQL (a fresh ``smsbox_bench`` database) and Redis
(db 9), with DEBUG off, and drives it from a second process: ``wrk`` when it is installed
(``apt-get install wrk``), else a Python load generator (threads, one keep-alive connection
each). Localhost only. Every answer is checked: an unexpected status or body is an error.
Targets: getStatus ≥ 0.7, REST detail ≥ 0.5, getNumber ≥ 0.1 (0.25 the goal), zero errors;
the My Numbers poll ≥ 0.3. Each endpoint is measured between two measurements of the ping, and
its ratio is the median of the rounds' (see ``_rounds``). ``--only`` keeps the endpoints whose
name contains one of its comma-separated words (and /healthz/ping, the yardstick).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
API_KEY = "BenchKey" + "0123456789abcdefghijklmnopqrstuv"  # 40 letters and digits
# The demo simulator's stock and number pool are sized for a demo; a benchmark buys thousands
# of numbers that stay open (each worker draws the pool once, on its first purchase).
_BIG_SIMULATOR = """
from providers.models import Provider
from providers.services import offers_sync
for provider in Provider.objects.filter(protocol="simulator"):
    provider.settings = {**provider.settings, "stock": 10000000, "pool_size": 20000}
    provider.save(update_fields=["settings"])
    offers_sync(provider=provider)
"""
# A customer with 20 open orders for My Numbers, and a session cookie signed in as them.
_NUMBERS_CUSTOMER = """
from decimal import Decimal
from django.conf import settings
from django.test import Client
from providers.models import Country, Service
from rentals.services import activation_purchase
from rentals.services.rentals import rental_purchase
from providers.services import upstream_sms_dispatch
from smsbox.models import User
from wallets.services import wallet_deposit, wallet_get_or_create
user = User.objects.create_user("numbers@bench.example", "x" * 20, is_verified=True)
wallet = wallet_get_or_create(user=user)
wallet_deposit(wallet=wallet, amount=Decimal("1000"), idempotency_key="bench-numbers")
service, country = Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)
for n in range(18):
    bought = activation_purchase(user=user, service=service, country=country)
    if n % 3 == 0:
        upstream_sms_dispatch(provider=bought.provider, upstream_id=bought.upstream_id,
                              phone=bought.phone, text=f"Your Telegram code is {100000 + n}")
for _ in range(2):
    rental_purchase(user=user, country=country, hours=4)
client = Client()
client.force_login(user)
name = settings.SESSION_COOKIE_NAME
print("COOKIE", name + "=" + client.cookies[name].value)
"""
TARGETS = {
    "getStatus": 0.7,
    "REST activation detail": 0.5,
    "getNumber": 0.1,
    "My Numbers poll": 0.3,
}
GOALS = {"getNumber": 0.25}  # beyond the target: printed, not required


def main() -> int:
    args = _arguments()
    env = _environment(args)
    _fresh_database(env["DATABASE_URL"])
    _flush_redis(env["REDIS_URL"])
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--api-key", API_KEY, "--balance", "1000000", "--sms-delay", "never")
    _manage(env, "shell", "-c", _BIG_SIMULATOR)
    cookie = _numbers_customer(env)
    _analyze(env["DATABASE_URL"])
    port = _free_port()
    server = subprocess.Popen(
        [
            GUNICORN,
            "smsbox.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.worker_threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/healthz/ping")
        activation_id = _buy_one(base)
        handler = f"{base}/stubs/handler_api.php?api_key={API_KEY}"
        runs = [
            ("/healthz/ping", f"{base}/healthz/ping", {}, 200, '{"status": "ok"}'),
            ("getStatus", f"{handler}&action=getStatus&id={activation_id}", {}, 200, "STATUS_"),
            (
                "REST activation detail",
                f"{base}/api/v1/activations/{activation_id}/",
                {"X-API-Key": API_KEY},
                200,
                '{"id":',
            ),
            (
                "getNumber",
                f"{handler}&action=getNumber&service=tg&country=187",
                {},
                200,
                "ACCESS_NUMBER:",
            ),
            # What a browser polls every 2 s while something is open: the fragment with the
            # digest of what it shows, 204 while nothing changed; the fragment rendered anew
            # (after a change); the page itself.
            ("My Numbers poll", _poll_url(base, cookie), {"Cookie": cookie}, 204, ""),
            ("My Numbers fragment", f"{base}/numbers/live/", {"Cookie": cookie}, 200, "\n<div"),
            ("My Numbers full list", f"{base}/numbers/", {"Cookie": cookie}, 200, "<!doctype"),
        ]
        runs = [run for run in runs if _chosen(run[0], args.only)]
        _warm_up(runs)
        load_before, stat_before = os.getloadavg()[0], _cpu_ticks()
        results, cpu = _rounds(runs, args)
        load_after, stat_after = os.getloadavg()[0], _cpu_ticks()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    steal = _share_stolen(stat_before, stat_after)
    return _report(results, cpu, args, env, (load_before, load_after), steal)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="load generator threads")
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2)
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--worker-class", choices=["sync", "gthread"], default="sync", help="gunicorn's"
    )
    parser.add_argument("--worker-threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument(
        "--only", default="", help='endpoints whose name contains one of these words, e.g. "My"'
    )
    return parser.parse_args()


def _chosen(name: str, only: str) -> bool:
    words = [w.strip().lower() for w in only.split(",") if w.strip()]
    return name == "/healthz/ping" or not words or any(w in name.lower() for w in words)


def _numbers_customer(env: dict[str, str]) -> str:
    """The session cookie of a customer with 20 open orders (``_NUMBERS_CUSTOMER``)."""
    output = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", _NUMBERS_CUSTOMER],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.search(r"^COOKIE (\S+)$", output, re.MULTILINE).group(1)


def _environment(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsbox_bench")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    env.update(
        DEBUG="false",
        SECRET_KEY="bench-only-" + "x" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        SMSBOX_VAR_DIR=str(ROOT / "var" / "bench"),
        # The demo customer is a standard account: its requests still go through the Redis
        # rate-limit window, only the limit is out of reach. The same for open activations.
        SMSBOX_RATE_LIMIT_STANDARD="100000000",
        SMSBOX_MAX_CONCURRENT_STANDARD="100000000",
    )
    return env


def _fresh_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or "bench" not in name:
        raise SystemExit(f"refusing to recreate database {name!r}: its name must contain 'bench'")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _analyze(url: str) -> None:
    """Statistics for the planner and no dead rows in the indexes, as autovacuum keeps a
    database in service (a freshly seeded one has no statistics, and a bulk update leaves its
    old rows in every index until a vacuum: plans and index scans would not be production's)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def _manage(env: dict[str, str], *command: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *command],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str) -> None:
    for _ in range(100):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _buy_one(base: str) -> int:
    answer = httpx.get(
        f"{base}/stubs/handler_api.php",
        params={"api_key": API_KEY, "action": "getNumber", "service": "tg", "country": "187"},
    ).text
    if not answer.startswith("ACCESS_NUMBER:"):
        raise SystemExit(f"getNumber answered {answer!r}")
    return int(answer.split(":")[1])


def _poll_url(base: str, cookie: str) -> str:
    """The fragment's URL with the digest its last answer carried, as the browser polls it."""
    page = httpx.get(f"{base}/numbers/live/", headers={"Cookie": cookie}).text
    return f"{base}/numbers/live/?v=" + re.search(r"\?v=(\w+)", page).group(1)


def _warm_up(runs) -> None:
    with httpx.Client(timeout=5) as client:
        for _, url, headers, _, _ in runs:
            for _ in range(20):
                client.get(url, headers=headers)


class Result(NamedTuple):
    rps: float  # median over the rounds
    requests: int  # over all rounds
    errors: int
    ratios: list[float]  # to the ping, one per round (the ping's own: empty)


def _rounds(runs, args) -> tuple[dict[str, Result], dict[str, dict[str, float]]]:
    """Every endpoint in turn, ``--rounds`` times, each between two measurements of the ping
    (ping, first endpoint, ping, second endpoint, ping, …): an endpoint's ratio in a round is
    its req/s over the geometric mean of the pings just before and after it, so that the
    machine's speed moving during the run (as a virtual machine's does, by a third from one
    minute to the next) cancels out instead of showing up as a ratio. Answers, per endpoint,
    the median req/s and the ratios of the rounds, and the CPU time each kind of process spent
    per request (seconds)."""
    ping, *endpoints = runs
    samples: dict[str, list[tuple[float, int, int]]] = {name: [] for name, *_ in runs}
    ratios: dict[str, list[float]] = {name: [] for name, *_ in runs}
    cpu: dict[str, dict[str, float]] = {name: {} for name, *_ in runs}

    def measure(run) -> float:
        name, url, headers, status, prefix = run
        before = _cpu_seconds()
        samples[name].append(_load(url, headers, status, prefix, args))
        # per process: one that ended meanwhile (a database connection closed) is left out
        for (kind, pid), seconds in _cpu_seconds().items():
            spent = seconds - before.get((kind, pid), 0.0)
            cpu[name][kind] = cpu[name].get(kind, 0.0) + spent
        return samples[name][-1][0]

    for _ in range(args.rounds):
        ping_before = measure(ping)
        for run in endpoints:
            rps = measure(run)
            ping_after = measure(ping)
            ratios[run[0]].append(rps / math.sqrt(ping_before * ping_after))
            ping_before = ping_after
    results = {
        name: Result(
            statistics.median(s[0] for s in runs_of),
            sum(s[1] for s in runs_of),
            sum(s[2] for s in runs_of),
            ratios[name],
        )
        for name, runs_of in samples.items()
    }
    per_request = {
        name: {kind: seconds / max(results[name].requests, 1) for kind, seconds in spent.items()}
        for name, spent in cpu.items()
    }
    return results, per_request


# Which processes are which, by their command name and line (Linux /proc).
_KINDS = (
    ("smsbox", lambda comm, cmdline: "smsbox.wsgi" in cmdline),
    ("PostgreSQL", lambda comm, cmdline: comm == "postgres"),
    ("Redis", lambda comm, cmdline: comm.startswith("redis-server")),
)


def _cpu_seconds() -> dict[tuple[str, int], float]:
    """CPU time (user + system) used so far by each process of each kind, by (kind, pid), and
    by this script's finished children (the load generator, pid 0). Empty without /proc."""
    spent: dict[tuple[str, int], float] = {}
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return spent
    tick = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        kind = next((k for k, matches in _KINDS if matches(comm, cmdline)), None)
        if kind is not None:
            spent[kind, int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    times = os.times()
    spent["load generator", 0] = times.children_user + times.children_system
    return spent


def _cpu_ticks() -> tuple[int, int] | None:
    """The machine's CPU time so far in ticks: (stolen by the hypervisor, all), from the
    ``cpu`` line of /proc/stat; None without it."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields[:8])


def _share_stolen(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of the CPUs' time the hypervisor gave to other machines between two readings
    (a virtual machine's neighbours: the ratios move with it)."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _load(url: str, headers: dict, status: int, prefix: str, args) -> tuple[float, int, int]:
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    if use_wrk:
        return _wrk(url, headers, status, prefix, args)
    return _python_load(url, headers, status, prefix, args)


def _wrk(url, headers, status, prefix, args) -> tuple[float, int, int]:
    env = dict(
        os.environ,
        EXPECT_STATUS=str(status),
        EXPECT_PREFIX=prefix,
        X_API_KEY=headers.get("X-API-Key", ""),
        COOKIE=headers.get("Cookie", ""),
    )
    completed = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--timeout",
            "10s",
            "-s",
            str(Path(__file__).with_name("check.lua")),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    output = completed.stdout
    if completed.stderr.strip():
        print(completed.stderr.strip().splitlines()[0], file=sys.stderr)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    bad = int(re.search(r"BAD_ANSWERS (\d+)", output).group(1))
    errors = re.search(r"Socket errors: (.*)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = sum(int(n) for n in re.findall(r"\d+", errors.group(1))) if errors else 0
    return rps, requests, bad + socket_errors + (int(non_2xx.group(1)) if non_2xx else 0)


def _python_load(url, headers, status, prefix, args) -> tuple[float, int, int]:
    """Fallback generator: ``connections`` threads in a child process, each its own client."""
    code = (
        "import sys, threading, time, httpx, json\n"
        "url, headers, status, prefix, n, duration = json.loads(sys.argv[1])\n"
        "counts = [[0, 0] for _ in range(n)]\n"
        "end = time.monotonic() + duration\n"
        "def run(i):\n"
        "    with httpx.Client(timeout=10) as c:\n"
        "        while time.monotonic() < end:\n"
        "            r = c.get(url, headers=headers)\n"
        "            counts[i][0] += 1\n"
        "            if r.status_code != status or not r.text.startswith(prefix):\n"
        "                counts[i][1] += 1\n"
        "start = time.monotonic()\n"
        "ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]\n"
        "[t.start() for t in ts]; [t.join() for t in ts]\n"
        "total = sum(c[0] for c in counts)\n"
        "print(total / (time.monotonic() - start), total, sum(c[1] for c in counts))\n"
    )
    import json

    payload = json.dumps([url, headers, status, prefix, args.connections, args.duration])
    out = subprocess.run(
        [PYTHON, "-c", code, payload],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def _report(results: dict[str, Result], cpu, args, env, load, steal: float | None) -> int:
    workers = f"{args.workers} {args.worker_class} workers"
    if args.worker_class == "gthread":
        workers += f" x {args.worker_threads} threads"
    print(
        f"smsbox benchmark: gunicorn with {workers}, {args.connections} connections, "
        f"{args.rounds} rounds of {args.duration}s per endpoint, each between two of the "
        f"ping, {os.cpu_count()} CPUs, load average {load[0]:.1f} → {load[1]:.1f}, "
        f"{'' if steal is None else f'{steal:.1%} of CPU time stolen, '}"
        f"CONN_HEALTH_CHECKS={env.get('CONN_HEALTH_CHECKS', 'true (default)')}"
    )
    print(
        f"{'endpoint':<26}{'req/s':>10}{'requests':>10}{'errors':>8}{'ratio':>8}"
        f"{'rounds':>18}{'target':>8}"
    )
    ok = True
    for name, result in results.items():
        ratio = statistics.median(result.ratios) if result.ratios else 1.0
        rounds = f"{min(result.ratios):.3f} to {max(result.ratios):.3f}" if result.ratios else ""
        target = TARGETS.get(name)
        met = target is None or ratio >= target
        ok = ok and met and result.errors == 0
        print(
            f"{name:<26}{result.rps:>10.0f}{result.requests:>10}{result.errors:>8}{ratio:>8.3f}"
            f"{rounds:>18}{'' if target is None else f'≥{target}':>8}{'' if met else '  MISSED'}"
            + (f"  (goal ≥{GOALS[name]})" if name in GOALS and ratio < GOALS[name] else "")
        )
    _report_cpu(cpu)
    return 0 if ok else 1


def _report_cpu(cpu: dict[str, dict[str, float]]) -> None:
    """CPU time per request by kind of process: on a machine whose CPUs are all busy, req/s is
    the CPUs divided by the total, so each endpoint's total against the ping's bounds its
    ratio whatever the load generator's share."""
    kinds = [kind for kind, _ in _KINDS] + ["load generator"]
    if not any(cpu.values()):
        return
    print("\nCPU µs per request (all processes of each kind, user + system; 10 ms ticks)")
    print(f"{'endpoint':<26}" + "".join(f"{k:>16}" for k in kinds) + f"{'total':>10}")
    for name, spent in cpu.items():
        print(
            f"{name:<26}"
            + "".join(f"{spent.get(k, 0.0) * 1e6:>16.0f}" for k in kinds)
            + f"{sum(spent.values()) * 1e6:>10.0f}"
        )


if __name__ == "__main__":
    sys.exit(main())
