"""Several nodes at once: two gunicorn instances, two Celery workers and one beat on one
PostgreSQL and one Redis, driven for a while, then checked for anything done twice.

    .venv/bin/python bench/nodes.py [--seconds 60] [--clients 4]

Prepares a fresh ``smsbox_bench_nodes`` database (Redis db 11) with the demo data, activations
that live ``--ttl`` seconds (10) and may be cancelled at once, the simulator sending an SMS to
some numbers after a few seconds, and the activation jobs ticking every few seconds. Starts
``gunicorn`` twice (two ports), ``celery worker`` twice (``-n node1@…``, ``-n node2@…``) and
``celery beat`` once, then for ``--seconds`` has ``--clients`` threads buy numbers
(``getNumber``), poll them and cancel some, alternating between the two servers; beat's
jobs deliver the simulator's SMS, expire and reconcile on either worker. After a pause for
the last expiries it stops everything and checks:

* every answer was one the protocol allows (no 5xx, no unknown token);
* no activation was refunded twice, every refunded activation once, no other refunded;
* each periodic task beat sent was run once, on one worker (the task ids in the workers' logs);
* ``check_ledger`` and ``check_open_counts`` are clean (each customer's count of open activations
  agrees with their activations); and something of each kind happened (purchases, SMS, cancels,
  expiries), else the run proves nothing.

Prints OK or FAIL per check and exits non-zero on any failure. Localhost only.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402  (after the path)
    API_KEY,
    GUNICORN,
    PYTHON,
    _environment,
    _flush_redis,
    _free_port,
    _fresh_database,
    _manage,
    _wait_until_up,
)

CELERY = str(Path(PYTHON).with_name("celery"))
NODES = {"node1", "node2"}
# The activation jobs tick every few seconds here (a minute or half a minute in service).
_FAST_JOBS = """
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from providers.models import Provider
from providers.services import offers_sync
every = {
    "rentals.tasks.activations_expire": 3,
    "rentals.tasks.activations_poll": 5,
    "rentals.tasks.activations_reconcile": 7,
    "providers.tasks.simulator_deliver_due_all": 2,
}
for task in PeriodicTask.objects.filter(task__in=every):
    task.interval, _ = IntervalSchedule.objects.get_or_create(
        every=every[task.task], period="seconds"
    )
    task.save()
for provider in Provider.objects.filter(protocol="simulator"):
    # an SMS after 3 s to half the numbers, after 10 minutes (expired by then) to the others
    provider.settings = {**provider.settings, "stock": 10000000, "pool_size": 20000,
                         "sms_delay": 3, "late_sms": 0.5, "late_sms_delay": 600}
    provider.save(update_fields=["settings"])
    offers_sync(provider=provider)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4, help="load threads")
    parser.add_argument("--ttl", type=int, default=10, help="activation lifetime, seconds")
    args = parser.parse_args()
    env = _prepare(args)
    logs = ROOT / "var" / "bench" / "nodes"
    logs.mkdir(parents=True, exist_ok=True)
    processes, bases = _start(env, logs)
    try:
        for base in bases:
            _wait_until_up(f"{base}/healthz/ping")
        tally = _drive(bases, args)
        time.sleep(args.ttl + 8)  # the last purchases expire, the sweep runs again
    finally:
        _stop(processes)
    return _report(env, logs, tally)


def _prepare(args) -> dict[str, str]:
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsbox_bench_nodes")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
    env = _environment(argparse.Namespace())
    env.update(
        SMSBOX_ACTIVATION_TTL=str(args.ttl),
        SMSBOX_EARLY_CANCEL_SECONDS="0",
        LOG_LEVEL="INFO",
    )
    _fresh_database(env["DATABASE_URL"])
    _flush_redis(env["REDIS_URL"])
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--api-key", API_KEY, "--balance", "1000000", "--sms-delay", "3")
    _manage(env, "shell", "-c", _FAST_JOBS)
    return env


def _start(env: dict[str, str], logs: Path) -> tuple[list[subprocess.Popen], list[str]]:
    processes, bases = [], []
    for node in (1, 2):
        port = _free_port()
        bases.append(f"http://127.0.0.1:{port}")
        web = [GUNICORN, "smsbox.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
        processes.append(_spawn([*web, "--log-level", "warning"], env, logs / f"web{node}.log"))
        worker = [CELERY, "-A", "smsbox", "worker", "-n", f"node{node}@%h", "--concurrency", "2"]
        worker += ["--queues", "celery,webhooks"]  # a node runs both queues' work
        processes.append(_spawn([*worker, "--loglevel", "INFO"], env, logs / f"worker{node}.log"))
    beat = [CELERY, "-A", "smsbox", "beat", "--loglevel", "INFO"]
    beat += ["--schedule", str(logs / "beat-schedule")]
    processes.append(_spawn(beat, env, logs / "beat.log"))
    return processes, bases


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    out = log.open("w")
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- load -------------------------------------------------------------------------------------
_ALLOWED = re.compile(
    r"^(ACCESS_NUMBER:\d+:\d+|STATUS_WAIT_CODE|STATUS_OK:.*|STATUS_CANCEL|ACCESS_CANCEL"
    r"|BAD_STATUS|EARLY_CANCEL_DENIED|NO_ACTIVATION|STATUS_WAIT_RETRY:.*|STATUS_WAIT_RESEND)$"
)


def _drive(bases: list[str], args) -> collections.Counter:
    tally: collections.Counter = collections.Counter()
    lock = threading.Lock()
    end = time.monotonic() + args.seconds
    threads = [
        threading.Thread(target=_client, args=(bases, n, end, tally, lock))
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def _client(bases, n: int, end: float, tally: collections.Counter, lock) -> None:
    """Buy, poll, and cancel about a third, each call on either server."""
    rng = random.Random(n)
    mine: list[str] = []
    with httpx.Client(timeout=30) as client:
        while time.monotonic() < end:
            base = rng.choice(bases)
            if len(mine) < 5 or rng.random() < 0.3:
                answer = _call(client, base, action="getNumber", service="tg", country="187")
                if answer.startswith("ACCESS_NUMBER:"):
                    mine.append(answer.split(":")[1])
            elif rng.random() < 0.3:
                answer = _call(client, base, action="setStatus", status="8", id=mine.pop())
            else:
                answer = _call(client, base, action="getStatus", id=rng.choice(mine))
            kind = answer.split(":")[0] if _ALLOWED.match(answer) else f"UNEXPECTED {answer[:60]}"
            with lock:
                tally[kind] += 1


def _call(client: httpx.Client, base: str, **params: str) -> str:
    try:
        response = client.get(
            f"{base}/stubs/handler_api.php", params={"api_key": API_KEY, **params}
        )
    except httpx.HTTPError as exc:
        return f"HTTP {type(exc).__name__}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    return response.text.strip()


# --- checks -----------------------------------------------------------------------------------
_TWICE_REFUNDED = """
SELECT reference_id FROM wallets_ledgerentry WHERE kind = 'refund' AND reference_kind = 'activation'
GROUP BY reference_id HAVING count(*) > 1
"""
_REFUNDS_MISMATCHED = """
SELECT a.id, a.state, count(e.id) FROM rentals_activation a
LEFT JOIN wallets_ledgerentry e ON e.kind = 'refund' AND e.reference_kind = 'activation'
    AND e.reference_id = a.id::text
GROUP BY a.id, a.state
HAVING count(e.id) <> CASE WHEN a.state IN ('cancelled', 'expired', 'failed') THEN 1 ELSE 0 END
"""
_STATES = "SELECT state, count(*) FROM rentals_activation GROUP BY state"
_SMS = "SELECT count(*) FROM rentals_activation WHERE sms_received_at IS NOT NULL"
_JOBS = (
    "SELECT name, count(*), count(*) FILTER (WHERE status <> 'ok') FROM smsbox_jobrun GROUP BY 1"
)


def _report(env: dict[str, str], logs: Path, tally: collections.Counter) -> int:
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        twice = conn.execute(_TWICE_REFUNDED).fetchall()
        mismatched = conn.execute(_REFUNDS_MISMATCHED).fetchall()
        states = dict(conn.execute(_STATES).fetchall())
        sms = conn.execute(_SMS).fetchone()[0]
        jobs = conn.execute(_JOBS).fetchall()
    sent, ran = _beat_sent(logs / "beat.log"), _worker_runs(logs)
    ledger, counts = (
        subprocess.run(
            [PYTHON, "manage.py", command], cwd=ROOT, env=env, capture_output=True, text=True
        )
        for command in ("check_ledger", "check_open_counts")
    )
    print(f"requests: {dict(tally)}")
    print(f"activations by state: {states}; with an SMS: {sms}")
    print("job runs (name, runs, not ok): " + ", ".join(f"{n} {r} {b}" for n, r, b in jobs))
    twice_ran = {task_id: nodes for task_id, (_, nodes) in ran.items() if len(nodes) > 1}
    runs_of = collections.Counter(name for name, _ in ran.values())
    # beat's last send may still be queued when the workers stop: one fewer run is allowed
    unmatched = {
        name: (count, runs_of[name])
        for name, count in sent.items()
        if not count - 1 <= runs_of[name] <= count
    }
    checks = [
        ("every answer expected", not [k for k in tally if k.startswith(("UNEXPECTED", "HTTP"))]),
        ("no activation refunded twice", not twice),
        ("each refunded activation refunded once, no other", not mismatched),
        ("beat sent periodic tasks", sum(sent.values()) > 0),
        ("both workers ran tasks", {n for _, nodes in ran.values() for n in nodes} == NODES),
        ("no task id ran twice (across both workers)", not twice_ran),
        ("each periodic task ran once per tick beat sent", not unmatched),
        ("check_ledger clean", ledger.returncode == 0),
        ("check_open_counts clean", counts.returncode == 0),
        ("purchases, SMS, cancels and expiries happened", _all_happened(tally, states, sms)),
    ]
    periodic = dict(sent)
    print(f"periodic tasks sent by beat: {dict(periodic)}")
    failed = 0
    for name, ok in checks:
        print(f"{'OK  ' if ok else 'FAIL'} {name}")
        failed += not ok
    if twice or mismatched or twice_ran or unmatched:
        print(f"details: twice {twice[:5]} mismatched {mismatched[:5]} ran {list(twice_ran)[:5]}")
        print(f"periodic (sent, ran) where they differ: {unmatched}")
    for failing in (ledger, counts):
        if failing.returncode:
            print(failing.stderr.strip()[:500])
    return 1 if failed else 0


def _all_happened(tally, states, sms: int) -> bool:
    return bool(tally["ACCESS_NUMBER"] and tally["ACCESS_CANCEL"] and sms and states.get("expired"))


_SENT = re.compile(r"Sending due task (\S+) \((\S+)\)")
_RAN = re.compile(r"Task (\S+)\[([0-9a-f-]{36})\] (?:succeeded|raised|failed|retry)")


def _beat_sent(log: Path) -> collections.Counter:
    """How many times beat sent each task (by task name)."""
    text = log.read_text(errors="replace")
    return collections.Counter(found.group(2) for found in _SENT.finditer(text))


def _worker_runs(logs: Path) -> dict[str, tuple[str, list[str]]]:
    """Task id → (task name, the workers that ran it), from their logs."""
    ran: dict[str, tuple[str, list[str]]] = {}
    for node in (1, 2):
        for found in _RAN.finditer((logs / f"worker{node}.log").read_text(errors="replace")):
            ran.setdefault(found.group(2), (found.group(1), []))[1].append(f"node{node}")
    return ran


if __name__ == "__main__":
    sys.exit(main())
