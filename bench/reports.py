"""How long the reports page takes over a year of history, against a bare view in the same run.

    .venv/bin/python bench/reports.py [--orders 500000] [--customers 2000] [--rounds 5]
    .venv/bin/python bench/reports.py --reuse     # time again, on the database seeded before

Recreates the database (``smsbox_bench_reports`` unless DATABASE_URL names another; its name
must contain "bench"), migrates it and seeds a year of history server-side with
``INSERT … SELECT … FROM generate_series`` (seconds, not minutes): ``--orders`` activations
spread evenly over 365 days across 3 providers, 20 services and 10 countries (70 % completed
with a code, 20 % expired, 10 % cancelled), and one credited top-up per 10 orders, and rolls the
closed days up as the reports' periodic job does (``rentals.backoffice.rollup``). Then, in
this process through Django's test client with DEBUG off (the same middleware and views as
under gunicorn), it times each report view (the best and the median of ``--rounds``) and
``/healthz/ping`` and the admin index as the bare views it is compared with.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORDERS_SQL = """
INSERT INTO rentals_activation (
    user_id, service_id, country_id, operator, provider_id, upstream_id, phone, price, cost,
    state, created_at, expires_at, number_at, sms_received_at, settled_at, ready, code,
    resend_count, idempotency_key, display_number, binding_key, webhook_url, memo
)
SELECT
    (%(users)s::bigint[])[1 + g %% cardinality(%(users)s::bigint[])],
    (%(services)s::bigint[])[1 + (g / 7) %% cardinality(%(services)s::bigint[])],
    (%(countries)s::bigint[])[1 + (g / 3) %% cardinality(%(countries)s::bigint[])],
    '',
    (%(providers)s::bigint[])[1 + (g / 11) %% cardinality(%(providers)s::bigint[])],
    'bench-' || g,
    (15550000000 + g)::text,
    0.50 + (g %% 40) * 0.05,
    0.30 + (g %% 40) * 0.03,
    CASE WHEN g %% 10 < 7 THEN 'completed' WHEN g %% 10 < 9 THEN 'expired' ELSE 'cancelled' END,
    at, at + interval '20 minutes', at,
    CASE WHEN g %% 10 < 7 THEN at + (20 + g %% 100) * interval '1 second' END,
    at + interval '20 minutes', false, '', 0, '',
    'B' || lpad(g::text, 14, '0'), 'bench-binding-' || g, '', ''
FROM generate_series(1, %(orders)s) AS g,
     LATERAL (SELECT now() - (g * interval '365 days' / %(orders)s) AS at) AS t
"""

TOP_UPS_SQL = """
INSERT INTO wallets_topup (
    wallet_id, user_id, processor_id, amount, currency, pay_currency, order_id,
    processor_payment_id, payment_url, status, amount_received, amount_credited, tx_hashes,
    first_deposit, error, created_at, updated_at, paid_at
)
SELECT
    (%(wallets)s::bigint[])[1 + g %% cardinality(%(wallets)s::bigint[])],
    (%(users)s::bigint[])[1 + g %% cardinality(%(users)s::bigint[])],
    (%(processors)s::bigint[])[1 + g %% cardinality(%(processors)s::bigint[])],
    10 + g %% 90, 'USD', 'USDT', 'bench-topup-' || g, '', '', 'paid',
    10 + g %% 90, 10 + g %% 90, md5(g::text) || md5((g + 1)::text), false, '', at, at, at
FROM generate_series(1, %(top_ups)s) AS g,
     LATERAL (SELECT now() - (g * interval '365 days' / %(top_ups)s) AS at) AS t
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=500_000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="time the database seeded before")
    args = parser.parse_args()
    from bench.run import _analyze, _environment, _flush_redis, _fresh_database, _manage

    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsbox_bench_reports")
    env = _environment(args)
    env.update(
        ALLOWED_HOSTS="testserver",
        SMSBOX_STAFF_2FA="false",  # the test client logs in without a TOTP device
        SMSBOX_STAFF_LOCKOUT="false",
        SMSBOX_STAFF_SESSION_MINUTES="0",
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsbox.settings")
    if args.reuse:
        _manage(env, "migrate", "--noinput")
        import django

        django.setup()
        from smsbox.models import User

        _roll_up()
        _measure(User.objects.get(email="owner@bench.example"), args.rounds)
        return 0
    started = time.perf_counter()
    _fresh_database(env["DATABASE_URL"])
    _flush_redis(env["REDIS_URL"])
    _manage(env, "migrate", "--noinput")
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    import django

    django.setup()
    started = time.perf_counter()
    operator = _seed(args)
    _analyze(env["DATABASE_URL"])
    _roll_up()
    print(
        f"seeded {args.orders} orders and {args.orders // 10} top-ups of a year, analysed, "
        f"in {time.perf_counter() - started:.1f} s"
    )
    _measure(operator, args.rounds)
    return 0


def _seed(args: argparse.Namespace):
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from providers.models import Country, Provider, Service
    from smsbox.models import User
    from wallets.models import PaymentProcessor, Wallet

    users = User.objects.bulk_create(
        User(email=f"customer{n}@bench.example", password=make_password(None))
        for n in range(args.customers)
    )
    wallets = Wallet.objects.bulk_create(Wallet(user=user) for user in users)
    providers = [
        Provider.objects.create(name=name, protocol="simulator", api_key="x")
        for name in ("Alpha", "Beta", "Gamma")
    ]
    processors = [
        # disabled: an enabled sandbox is a start-up error with DEBUG off
        PaymentProcessor.objects.create(name=name, kind="sandbox", enabled=False)
        for name in ("crypto", "card")
    ]
    ids = {
        "users": [u.pk for u in users],
        "wallets": [w.pk for w in wallets],
        "services": list(Service.objects.order_by("pk").values_list("pk", flat=True)[:20]),
        "countries": list(Country.objects.order_by("pk").values_list("pk", flat=True)[:10]),
        "providers": [p.pk for p in providers],
        "processors": [p.pk for p in processors],
        "orders": args.orders,
        "top_ups": args.orders // 10,
    }
    with connection.cursor() as cursor:
        cursor.execute(ORDERS_SQL, ids)
        cursor.execute(TOP_UPS_SQL, ids)
    return User.objects.create_superuser(email="owner@bench.example", password=None)


def _roll_up() -> None:
    """What the periodic job does: the first run rolls up every closed day of the history."""
    from rentals.backoffice.rollup import report_days_refresh

    started = time.perf_counter()
    rows = report_days_refresh()
    print(f"rolled up the closed days: {rows} rows in {time.perf_counter() - started:.1f} s")


def _measure(operator, rounds: int) -> None:
    from datetime import timedelta

    from django.test import Client
    from django.utils import timezone

    client = Client()
    client.force_login(operator)
    today = timezone.now().date()
    year = {"start": (today - timedelta(days=365)).isoformat(), "end": today.isoformat()}
    views = {
        "bare: /healthz/ping": ("/healthz/ping", {}),
        "bare: admin index": ("/admin/", {}),
        "reports, a year per day": ("/admin/backoffice/reports/", {**year, "period": "day"}),
        "reports, a year per week by provider": (
            "/admin/backoffice/reports/",
            {**year, "period": "week", "dimension": "provider"},
        ),
        "reports, a year per month by service": (
            "/admin/backoffice/reports/",
            {**year, "period": "month", "dimension": "service"},
        ),
        "CSV of a year's activity per day": (
            "/admin/backoffice/reports/activity.csv",
            {**year, "period": "day"},
        ),
    }
    timings = {}
    print(f"{'view':<40}{'best ms':>9}{'median ms':>11}{'x ping':>9}{'x index':>9}")
    for name, (url, params) in views.items():
        client.get(url, params, secure=True)  # warm: connections, templates, caches
        samples = []
        for _ in range(rounds):
            begun = time.perf_counter()
            response = client.get(url, params, secure=True)
            samples.append((time.perf_counter() - begun) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        timings[name] = (min(samples), statistics.median(samples))
        ping, index = timings["bare: /healthz/ping"][1], timings.get("bare: admin index")
        median = timings[name][1]
        print(
            f"{name:<40}{timings[name][0]:>9.1f}{median:>11.1f}{median / ping:>9.0f}"
            f"{(median / index[1]) if index else 1:>9.1f}"
        )
    worst = max(median for name, (_, median) in timings.items() if name.startswith("reports"))
    verdict = "under" if worst < 1000 else "OVER"
    print(f"slowest report page: {worst:.0f} ms median: {verdict} the 1 s target")


if __name__ == "__main__":
    raise SystemExit(main())
