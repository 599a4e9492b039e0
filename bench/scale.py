"""The scale table: what the hot requests, the expiry sweep, the back office's reports and
``check_ledger`` cost as the activations table grows.

    .venv/bin/python bench/scale.py [--sizes 1000,100000] [--requests 300] [--purchases 60]
                                    [--rounds 3]

Prepares, for each size (at most four), a fresh database ``smsbox_bench_scale_<size>`` (Redis
db 12, 13, … in size order) as bench/run.py does (demo data, DEBUG off), and fills its
activations table with that many activations and their ledger entries (a deposit per customer,
a charge per activation, a refund per refunded one) by ``COPY`` (psycopg 3), then analyzes it.
Then it measures, each stage in a process of its own on that size's database, through Django's
test client (the same middleware and views as under gunicorn):

* getStatus, the REST activation detail, getNumber and the My Numbers fragment: mean µs per
  request of the demo customer, who owns 5 % of the rows. ``--rounds`` rounds take the sizes in
  turn (so that the machine's drift over the run hits every size alike); each figure is the best
  of all its rounds (each itself the best of three), as other load only ever adds time;
* the expiry sweep (``activations_expire_due``) of ``size / 10`` due activations (at least 100,
  at most 100 000), all refunded, against a reference that does the same update and ledger
  inserts in one raw SQL statement on as many others; also the sweep's peak Python memory
  (tracemalloc);
* the back office's report queries (last 30 days by day) and ``check_ledger``.

Each figure is printed per size with its ratio to the smallest size (flat: about 1.0), and
the sweep's to its reference. Timings only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402  (after the path)
    _BIG_SIMULATOR,
    API_KEY,
    PYTHON,
    _analyze,
    _environment,
    _flush_redis,
    _fresh_database,
    _manage,
)

CUSTOMERS = 1000
DEMO_SHARE = 0.05  # of the rows, the demo customer's
REFUNDED_SHARE = 0.2  # of the history, expired or cancelled (refunded)
HISTORY_DAYS = 90
PRICE = Decimal("0.50")
SWEEP_MAX = 100_000

# The reference for the sweep: the same update and ledger inserts as one statement.
_REFERENCE = """
WITH due AS (
    SELECT id FROM rentals_activation
    WHERE state IN ('waiting', 'received', 'resend') AND expires_at <= %(now)s
    FOR UPDATE
), settled AS (
    UPDATE rentals_activation a SET state = 'expired', settled_at = now(),
        memo = 'Expired without an SMS'
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.user_id, a.price, a.display_number
), refunds AS (
    SELECT s.id, s.price, s.display_number, w.id AS wallet_id,
        w.balance + sum(s.price) OVER (PARTITION BY w.id ORDER BY s.id) AS balance_after
    FROM settled s JOIN wallets_wallet w ON w.user_id = s.user_id
), entries AS (
    INSERT INTO wallets_ledgerentry (wallet_id, kind, amount, balance_after, reference_kind,
        reference_id, idempotency_key, actor_id, memo, created_at)
    SELECT wallet_id, 'refund', price, balance_after, 'activation', id::text,
        'refund:activation:' || id, NULL,
        'Activation ' || display_number || ': Expired without an SMS', now()
    FROM refunds
)
UPDATE wallets_wallet w SET balance = w.balance + t.total, updated_at = now()
FROM (SELECT wallet_id, sum(price) AS total FROM refunds GROUP BY wallet_id) t
WHERE w.id = t.wallet_id
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated row counts")
    parser.add_argument("--requests", type=int, default=300, help="per polling endpoint")
    parser.add_argument("--purchases", type=int, default=60, help="getNumber per size")
    parser.add_argument("--rounds", type=int, default=3, help="of the requests, per size")
    parser.add_argument("--stage", choices=_STAGES, help=argparse.SUPPRESS)  # in a child
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        return _stage(args)
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if len(sizes) > len(_REDIS_DBS):
        raise SystemExit(f"at most {len(_REDIS_DBS)} sizes")
    envs = {size: _prepare(size, db) for size, db in zip(sizes, _REDIS_DBS, strict=False)}
    table: dict[int, dict[str, float]] = {size: {} for size in sizes}
    for size in sizes:
        started = time.perf_counter()
        _child(envs[size], args, "seed", size)
        seeded = time.perf_counter() - started
        print(f"size {size}: seeded in {seeded:.1f}s", file=sys.stderr, flush=True)
    for round_ in range(args.rounds):  # the sizes in turn: the machine's drift hits them alike
        print(f"requests, round {round_ + 1} of {args.rounds}…", file=sys.stderr, flush=True)
        for size in sizes:
            for name, micros in _child(envs[size], args, "requests", size).items():
                table[size][name] = min(micros, table[size].get(name, micros))
    for size in sizes:
        print(f"size {size}: sweeps, reports, check_ledger…", file=sys.stderr, flush=True)
        table[size].update(_child(envs[size], args, "batch", size))
        table[size]["due"] = _due(size)
        _flush_redis(envs[size]["REDIS_URL"])  # the upstream-close messages no worker took
    _print(table)
    return 0


# One database and Redis db per size, so that the request rounds can take the sizes in turn.
_REDIS_DBS = (12, 13, 14, 15)
_STAGES = ("seed", "requests", "batch")


def _due(size: int) -> int:
    return min(SWEEP_MAX, max(100, size // 10))


def _prepare(size: int, redis_db: int) -> dict[str, str]:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsbox_bench_scale")
    server = urlsplit(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"))
    env = _environment(argparse.Namespace())
    env["DATABASE_URL"] = f"{base}_{size}"
    env["REDIS_URL"] = server._replace(path=f"/{redis_db}").geturl()
    env["ALLOWED_HOSTS"] += ",testserver"
    _fresh_database(env["DATABASE_URL"])
    _flush_redis(env["REDIS_URL"])
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo", "--api-key", API_KEY, "--balance", "1000000", "--sms-delay", "never")
    _manage(env, "shell", "-c", _BIG_SIMULATOR)
    return env


def _child(env: dict[str, str], args, stage: str, size: int) -> dict[str, float]:
    """Run ``stage`` for ``size`` in a process of its own, on that size's database; its
    figures (the last line it prints, JSON)."""
    command = [PYTHON, __file__, "--stage", stage, "--size", str(size)]
    command += ["--requests", str(args.requests), "--purchases", str(args.purchases)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{stage} of size {size} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _stage(args) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsbox.settings")
    import django

    django.setup()
    if args.stage == "seed":
        figures = {"rows": _seed(args.size)}
    elif args.stage == "requests":
        figures = _requests(args)
    else:
        figures = _batch(_due(args.size))
    print(json.dumps(figures))
    return 0


# --- seeding ----------------------------------------------------------------------------------
def _seed(count: int) -> int:
    """``count`` more settled activations (the history), with their ledger entries, by COPY."""
    from django.db import connection
    from django.utils import timezone

    if count <= 0:
        return 0
    customers = _customers()
    now = timezone.now()
    ids = _reserve_ids(count)
    owners = _owners(customers, count)
    with connection.cursor() as cursor:
        balances = _balances(cursor)
        activations, entries = [], []
        for user_id, ident in zip(owners, ids, strict=True):
            created = now - timedelta(seconds=random.randrange(HISTORY_DAYS * 86400))
            refunded = random.random() < REFUNDED_SHARE
            activations.append(_activation_row(ident, user_id, created, refunded))
            entries.append((user_id, -PRICE, "charge", ident, created))
            if refunded:
                entries.append((user_id, PRICE, "refund", ident, created + timedelta(minutes=20)))
        deposits = _deposits(entries, "history", now - timedelta(days=HISTORY_DAYS + 1))
        _copy_activations(cursor, activations)
        _copy_entries(cursor, deposits + entries, balances)
        _store_balances(cursor, balances)
    _analyze(os.environ["DATABASE_URL"])
    return count


def _customers() -> dict[int, int]:
    """Customer id → wallet id: the demo customer and ``CUSTOMERS`` others (made once)."""
    from smsbox.models import User
    from wallets.models import Wallet

    if User.objects.filter(email__startswith="scale-").count() < CUSTOMERS:
        User.objects.bulk_create(
            [User(email=f"scale-{n}@example.com", is_verified=True) for n in range(CUSTOMERS)],
            ignore_conflicts=True,
        )
    users = User.objects.filter(email__startswith="scale-").values_list("pk", flat=True)
    Wallet.objects.bulk_create([Wallet(user_id=pk) for pk in users], ignore_conflicts=True)
    wanted = [*users, _demo_user().pk]
    return dict(Wallet.objects.filter(user_id__in=wanted).values_list("user_id", "pk"))


def _demo_user():
    from smsbox.models import User

    return User.objects.get(email="demo@example.com")


def _owners(customers: dict[int, int], count: int) -> list[int]:
    demo = _demo_user().pk
    others = [pk for pk in customers if pk != demo]
    return [demo if random.random() < DEMO_SHARE else random.choice(others) for _ in range(count)]


def _reserve_ids(count: int) -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('rentals_activation', 'id')) "
            "FROM generate_series(1, %s)",
            [count],
        )
        return [row[0] for row in cursor.fetchall()]


def _catalog() -> tuple[int, int, int]:
    from providers.models import Country, Provider, Service

    return (
        Service.objects.get(code="tg").pk,
        Country.objects.get(sms_activate_id=187).pk,
        Provider.objects.get(protocol="simulator").pk,
    )


_CATALOG: list[int] = []  # service, country, provider: read once


def _activation_row(ident, user_id, created, refunded: bool, *, state=None, expires=None) -> dict:
    if not _CATALOG:
        _CATALOG.extend(_catalog())
    service, country, provider = _CATALOG
    final = state is None
    state = state or ("expired" if refunded else "completed")
    return {
        "id": ident,
        "user_id": user_id,
        "service_id": service,
        "country_id": country,
        "provider_id": provider,
        "upstream_id": f"scale-{ident}",
        "phone": f"1555{ident % 10**7:07d}",
        "price": PRICE,
        "cost": Decimal("0.30"),
        "state": state,
        "created_at": created,
        "expires_at": expires or created + timedelta(minutes=20),
        "number_at": created,
        "sms_received_at": None if refunded or not final else created + timedelta(seconds=40),
        "settled_at": created + timedelta(minutes=20) if final else None,
        "code": "" if refunded or not final else "123456",
        "display_number": f"S{ident:012d}",
        "binding_key": f"scale-{ident}",
        "memo": "",
    }


def _copy_activations(cursor, rows: list[dict]) -> None:
    from rentals.models import Activation

    fields = list(Activation._meta.concrete_fields)
    columns = [f.column for f in fields]
    defaults = {f.attname: f.get_default() for f in fields}
    raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
    with raw.copy(f"COPY rentals_activation ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row.get(f.attname, defaults[f.attname]) for f in fields])


def _balances(cursor) -> dict[int, Decimal]:
    cursor.execute("SELECT user_id, balance FROM wallets_wallet")
    return dict(cursor.fetchall())


def _deposits(entries: list[tuple], tag: object, when) -> list[tuple]:
    """Per customer, what their charges take, plus 100 to spare (balance_after stays ≥ 0)."""
    spent: dict[int, Decimal] = {}
    for user_id, amount, *_ in entries:
        spent[user_id] = spent.get(user_id, Decimal(0)) - amount
    return [
        (user_id, total + 100, "deposit", f"scale-{tag}-{user_id}", when)
        for user_id, total in spent.items()
    ]


def _copy_entries(cursor, entries: list[tuple], balances: dict[int, Decimal]) -> None:
    """Entries in time order, each with its wallet's running balance; deposits first."""
    wallets = dict(_wallet_ids(cursor))
    columns = "wallet_id, kind, amount, balance_after, reference_kind, reference_id, "
    columns += "idempotency_key, memo, created_at"
    entries.sort(key=lambda entry: (entry[2] != "deposit", entry[4]))
    with cursor.cursor.copy(f"COPY wallets_ledgerentry ({columns}) FROM STDIN") as copy:
        for user_id, amount, kind, ref, when in entries:
            balances[user_id] += amount
            reference = ("", "") if kind == "deposit" else ("activation", str(ref))
            key = f"{kind}:{ref}" if kind == "deposit" else f"{kind}:activation:{ref}"
            row = (wallets[user_id], kind, amount, balances[user_id], *reference, key, "", when)
            copy.write_row(row)


def _wallet_ids(cursor) -> list[tuple[int, int]]:
    cursor.execute("SELECT user_id, id FROM wallets_wallet")
    return cursor.fetchall()


def _store_balances(cursor, balances: dict[int, Decimal]) -> None:
    cursor.execute(
        "UPDATE wallets_wallet w SET balance = t.balance FROM unnest(%s::bigint[], "
        "%s::numeric[]) AS t(user_id, balance) WHERE w.user_id = t.user_id",
        [list(balances), list(balances.values())],
    )


def _seed_due(count: int, *, expires) -> list[int]:
    """``count`` waiting activations (no SMS) expiring at ``expires``, charged, by COPY."""
    from django.db import connection
    from django.utils import timezone

    customers = _customers()
    ids = _reserve_ids(count)
    everyone = list(customers)
    owners = [random.choice(everyone) for _ in range(count)]
    created = timezone.now() - timedelta(minutes=21)
    with connection.cursor() as cursor:
        balances = _balances(cursor)
        rows = [
            _activation_row(i, u, created, True, state="waiting", expires=expires)
            for u, i in zip(owners, ids, strict=True)
        ]
        entries = [(u, -PRICE, "charge", i, created) for u, i in zip(owners, ids, strict=True)]
        deposits = _deposits(entries, f"due-{ids[0]}", created - timedelta(minutes=1))
        _copy_activations(cursor, rows)
        _copy_entries(cursor, deposits + entries, balances)
        _store_balances(cursor, balances)
    _analyze(os.environ["DATABASE_URL"])
    return ids


# --- measuring --------------------------------------------------------------------------------
def _requests(args) -> dict[str, float]:
    from django.test import Client

    client = Client()
    handler = f"/stubs/handler_api.php?api_key={API_KEY}"
    answer = client.get(f"{handler}&action=getNumber&service=tg&country=187").content.decode()
    if not answer.startswith("ACCESS_NUMBER:"):
        raise SystemExit(f"getNumber answered {answer!r}")
    ident = answer.split(":")[1]
    figures = {
        "getStatus": _per_request(
            client, f"{handler}&action=getStatus&id={ident}", {}, args.requests
        ),
        "REST detail": _per_request(
            client, f"/api/v1/activations/{ident}/", {"HTTP_X_API_KEY": API_KEY}, args.requests
        ),
        "getNumber": _per_request(
            client, f"{handler}&action=getNumber&service=tg&country=187", {}, args.purchases
        ),
    }
    _settle_bought(keep=int(ident))  # the fragment shows as many orders at every size
    client.force_login(_demo_user())
    figures["My Numbers fragment"] = _per_request(client, "/numbers/live/", {}, args.requests)
    return figures


def _batch(due: int) -> dict[str, float]:
    figures = _reports()
    figures.update(_sweeps(due))
    figures["check_ledger"] = _timed(_check_ledger)
    return figures


def _settle_bought(*, keep: int) -> None:
    """The numbers getNumber bought (charged, never refunded) closed as completed."""
    from django.utils import timezone

    from rentals.models import Activation

    Activation.objects.filter(user=_demo_user(), state__in=Activation.OPEN_STATES).exclude(
        pk=keep
    ).update(state="completed", settled_at=timezone.now())


def _per_request(client, url: str, headers: dict, count: int, rounds: int = 3) -> float:
    """Mean µs per request, the best of ``rounds`` rounds (the machine's other load only ever
    adds time)."""
    for _ in range(10):
        response = client.get(url, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    means = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(max(count // rounds, 1)):
            client.get(url, **headers)
        means.append((time.perf_counter() - started) / max(count // rounds, 1) * 1e6)
    return min(means)


def _timed(job) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _check_ledger() -> None:
    from django.core.management import call_command

    call_command("check_ledger", stdout=open(os.devnull, "w"))  # noqa: SIM115


def _reports() -> dict[str, float]:
    from django.utils import timezone

    from rentals.backoffice import reports

    now = timezone.now()
    query = reports.ReportQuery(start=now - timedelta(days=30), end=now + timedelta(days=1))
    return {
        "report: activity": min(_timed(lambda: reports.activity_rows(query)) for _ in range(3)),
        "report: customers": min(_timed(lambda: reports.customer_rows(query)) for _ in range(3)),
        "report: top customers": min(
            _timed(lambda: reports.top_customer_rows(query)) for _ in range(3)
        ),
        "report: rentals": min(_timed(lambda: reports.rental_rows(query)) for _ in range(3)),
    }


def _sweeps(due: int) -> dict[str, float]:
    """The sweep on ``due`` activations, then the reference on as many others (made due only
    once the sweep is done, so that each works on its own rows), then the sweep again on as
    many under tracemalloc for its peak memory (tracemalloc slows it: not timed)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from rentals.services import activations_expire_due

    now = timezone.now()
    _seed_due(due + 100, expires=now - timedelta(seconds=1))
    activations_expire_due(limit=100, now=now)  # warm: imports, the broker's connection
    later, latest = now + timedelta(hours=1), now + timedelta(hours=2)
    _seed_due(due, expires=later)
    _seed_due(due, expires=latest)
    swept = []
    sweep_seconds = _timed(lambda: swept.append(activations_expire_due(limit=due * 9, now=now)))

    def reference() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_REFERENCE, {"now": later})

    reference_seconds = _timed(reference)
    tracemalloc.start()
    swept.append(activations_expire_due(limit=due * 9, now=latest))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if swept != [due, due]:
        raise SystemExit(f"the sweeps settled {swept}, not {due} each")
    _check_ledger()
    return {
        "expiry sweep": sweep_seconds,
        "sweep reference (1 SQL)": reference_seconds,
        "sweep peak memory KiB": peak / 1024,
    }


def _print(table: dict[int, dict[str, float]]) -> None:
    sizes = list(table)
    first = sizes[0]
    print(f"smsbox scale table ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    header = f"{'measure':<26}{'unit':>6}" + "".join(f"{s:>12}" for s in sizes)
    print(header + "".join(f"{str(first) + '→' + str(s):>14}" for s in sizes[1:]))
    units = {"getStatus": "µs", "REST detail": "µs", "getNumber": "µs"}
    units["My Numbers fragment"] = "µs"
    for name in table[first]:
        if name == "due":
            continue
        unit = units.get(name, "KiB" if "KiB" in name else "s")
        cells = "".join(f"{table[s][name]:>12.{_digits(unit)}f}" for s in sizes)
        ratios = "".join(f"{table[s][name] / table[first][name]:>14.2f}" for s in sizes[1:])
        print(f"{name:<26}{unit:>6}{cells}{ratios}")
    print("\nexpiry sweep against its reference (same rows, one raw SQL statement):")
    for size in sizes:
        row = table[size]
        ratio = row["expiry sweep"] / row["sweep reference (1 SQL)"]
        goal = " (goal ≤ 3)" if row["due"] == SWEEP_MAX else ""
        print(f"  size {size}: {int(row['due'])} due, sweep/reference = {ratio:.2f}{goal}")


def _digits(unit: str) -> int:
    return 0 if unit in ("µs", "KiB") else 3


if __name__ == "__main__":
    sys.exit(main())
