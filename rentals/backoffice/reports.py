"""Reports for Finance and the owner: aggregate SQL per period and dimension, charts, CSV.

Every figure is one grouped query (``GROUP BY`` period, dimension) over activations:

* orders: activations that got a number; revenue: what was charged for those not refunded;
  upstream cost: what those cost upstream; margin: revenue - cost (an activation still without
  a number is neither: it becomes an order or is refunded);
* refunds: activations refunded (cancelled, expired, not delivered) — count and amount;
* success rate: orders with an SMS ÷ orders; time to code: average of first SMS - number.

Long-term rentals are counted from their ledger entries (every charge and refund of a rental
names it): purchases and added periods charged, refunds, and net revenue (charged - refunded).
Deposits (top-ups credited, per processor), customers (active, new, top) and the providers'
balance runway (upstream balance ÷ the last 7 days' upstream spend per day) complete the page.
Each table is exportable as CSV.
"""

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone

from providers.models import Provider
from providers.selectors import provider_balance
from rentals.backoffice.rollup import rolled_sums, rollup_covers
from rentals.models import Activation
from rentals.services.rental_money import REFERENCE_KIND as RENTAL_REFERENCE_KIND
from smsbox.models import User
from smsbox.money import ZERO, money_field_kwargs, to_cents
from wallets.models import LedgerEntry, TopUp

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
DIMENSIONS = {
    "none": None,
    "provider": "provider__name",
    "service": "service__name",
    "country": "country__name_en",
}
TOP = 10
RUNWAY_DAYS = 7


@dataclass(frozen=True)
class ReportQuery:
    start: datetime
    end: datetime
    period: str = "day"
    dimension: str = "none"


def _money(expression) -> Coalesce:
    return Coalesce(expression, Value(ZERO), output_field=DecimalField(**money_field_kwargs()))


def _kept() -> Q:
    """Orders (a number was given) whose charge was not given back."""
    return Q(number_at__isnull=False) & ~Q(state__in=Activation.REFUNDED_STATES)


SUMS = ("orders", "with_sms", "revenue", "cost", "refunds", "refunded", "code_seconds")
MONEY_SUMS = ("revenue", "cost", "refunded")


def activity_sums(start: datetime, end: datetime, *, bucket, group: str | None):
    """The activity figures of the orders created in [start, end), grouped by ``bucket`` (an
    expression over ``created_at``) and the ``group`` field: one aggregate query."""
    fields = ["bucket", *([group] if group else [])]
    return (
        Activation.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(bucket=bucket)
        .values(*fields)
        .annotate(
            orders=Count("id", filter=Q(number_at__isnull=False)),
            with_sms=Count("id", filter=Q(number_at__isnull=False, sms_received_at__isnull=False)),
            revenue=_money(Sum("price", filter=_kept())),
            cost=_money(Sum("cost", filter=_kept())),
            refunds=Count("id", filter=Q(state__in=Activation.REFUNDED_STATES)),
            refunded=_money(Sum("price", filter=Q(state__in=Activation.REFUNDED_STATES))),
            code_time=Sum(F("sms_received_at") - F("number_at")),
        )
        .order_by(*fields)
    )


def activity_rows(query: ReportQuery) -> list[dict[str, Any]]:
    """Revenue, cost, margin, refunds, success rate and time to code per period (and
    dimension): from the daily roll-up for the days it covers, from the orders after."""
    field = DIMENSIONS[query.dimension]
    live_from = rollup_covers(query.start, query.end)
    table: dict[tuple[str, str], dict[str, Any]] = {}
    if live_from > query.start:
        for row in rolled_sums(query, until=live_from):
            _add(table, (row["bucket"].isoformat(), row["group"]), row)
    if live_from < query.end:
        bucket = PERIODS[query.period]("created_at")
        for row in activity_sums(live_from, query.end, bucket=bucket, group=field):
            key = (row["bucket"].date().isoformat(), (row.get(field) or "") if field else "")
            code = row["code_time"]
            _add(table, key, {**row, "code_seconds": code.total_seconds() if code else 0.0})
    return [_activity(key, table[key]) for key in sorted(table)]


def _add(table: dict, key: tuple[str, str], row: dict[str, Any]) -> None:
    sums = table.setdefault(key, {**dict.fromkeys(SUMS, 0), **dict.fromkeys(MONEY_SUMS, ZERO)})
    for name in SUMS:
        if row[name] is not None:
            sums[name] += row[name]


def _activity(key: tuple[str, str], row: dict[str, Any]) -> dict[str, Any]:
    orders, with_sms = row["orders"], row["with_sms"]
    return {
        "period": key[0],
        "group": key[1],
        "orders": orders,
        "revenue": to_cents(row["revenue"]),
        "cost": to_cents(row["cost"]),
        "margin": to_cents(row["revenue"] - row["cost"]),
        "refunds": row["refunds"],
        "refunded": to_cents(row["refunded"]),
        "success_rate": round(with_sms / orders, 3) if orders else None,
        "time_to_code_s": round(row["code_seconds"] / with_sms) if with_sms else None,
    }


Kind = LedgerEntry.Kind
CHARGES = (Kind.CHARGE, Kind.RENEWAL)  # a rental's first period, then each period added


def rental_rows(query: ReportQuery) -> list[dict[str, Any]]:
    """Long-term rentals per period, from the ledger: purchases charged, periods added
    (extensions and automatic renewals), what they were charged, refunds (cancels, revokes,
    periods or purchases not made upstream) and the net revenue. One grouped query; a rental's
    entries are found by their reference's index, not among the activations' entries."""
    rows = (
        _rental_entries(query)
        .annotate(bucket=PERIODS[query.period]("created_at"))
        .values("bucket")
        .annotate(
            purchases=Count("id", filter=Q(kind=Kind.CHARGE)),
            periods_added=Count("id", filter=Q(kind=Kind.RENEWAL)),
            charged=_money(Sum("amount", filter=Q(kind__in=CHARGES))),
            refunds=Count("id", filter=Q(kind=Kind.REFUND)),
            refunded=_money(Sum("amount", filter=Q(kind=Kind.REFUND))),
        )
        .order_by("bucket")
    )
    return [
        {
            "period": row["bucket"].date().isoformat(),
            "purchases": row["purchases"],
            "periods_added": row["periods_added"],
            "charged": to_cents(ZERO - row["charged"]),  # charges are negative entries (no -0)
            "refunds": row["refunds"],
            "refunded": to_cents(row["refunded"]),
            "net": to_cents(ZERO - row["charged"] - row["refunded"]),
        }
        for row in rows
    ]


def _rental_entries(query: ReportQuery):
    """The charges and refunds of rentals in the range (found by their reference's index)."""
    return LedgerEntry.objects.filter(
        reference_kind=RENTAL_REFERENCE_KIND,
        created_at__gte=query.start,
        created_at__lt=query.end,
        kind__in=[*CHARGES, Kind.REFUND],
    )


def deposit_rows(query: ReportQuery) -> list[dict[str, Any]]:
    """Top-ups credited per period and processor: how many and how much."""
    rows = (
        TopUp.objects.filter(
            created_at__gte=query.start, created_at__lt=query.end, amount_credited__gt=0
        )
        .annotate(bucket=PERIODS[query.period]("created_at"))
        .values("bucket", "processor__name")
        .annotate(top_ups=Count("id"), credited=_money(Sum("amount_credited")))
        .order_by("bucket", "processor__name")
    )
    return [
        {
            "period": row["bucket"].date().isoformat(),
            "processor": row["processor__name"],
            "top_ups": row["top_ups"],
            "credited": to_cents(row["credited"]),
        }
        for row in rows
    ]


def customer_rows(query: ReportQuery) -> list[dict[str, Any]]:
    """Active customers (who bought an activation or were charged for a rental) and new
    customers (who signed up) per period. Those who bought activations are counted by the
    database; renters (few) are added unless they bought activations in the same period too."""
    trunc = PERIODS[query.period]
    orders = Activation.objects.filter(created_at__gte=query.start, created_at__lt=query.end)
    orders = orders.annotate(bucket=trunc("created_at"))
    active = orders.values("bucket").annotate(active=Count("user_id", distinct=True))
    new = (
        User.objects.filter(created_at__gte=query.start, created_at__lt=query.end, is_staff=False)
        .annotate(bucket=trunc("created_at"))
        .values("bucket")
        .annotate(new=Count("id"))
    )
    renting = _by_bucket(
        _rental_entries(query)
        .filter(kind__in=CHARGES)
        .annotate(bucket=trunc("created_at"))
        .values_list("bucket", "wallet__user_id")
    )
    renters = set().union(*renting.values())
    buying = _by_bucket(orders.filter(user_id__in=renters).values_list("bucket", "user_id"))
    table: dict[str, dict[str, Any]] = {}

    def row_of(bucket: datetime) -> dict[str, Any]:
        return table.setdefault(bucket.date().isoformat(), {"active": 0, "new": 0})

    for row in active:
        row_of(row["bucket"])["active"] = row["active"]
    for bucket, users in renting.items():
        row_of(bucket)["active"] += len(users - buying.get(bucket, set()))
    for row in new:
        row_of(row["bucket"])["new"] = row["new"]
    return [{"period": key, **table[key]} for key in sorted(table)]


def _by_bucket(pairs) -> dict[datetime, set[int]]:
    grouped: dict[datetime, set[int]] = {}
    for bucket, user_id in pairs.distinct():
        grouped.setdefault(bucket, set()).add(user_id)
    return grouped


def top_customer_rows(query: ReportQuery) -> list[dict[str, Any]]:
    """The customers who brought the most in the range: their activations' revenue (orders
    kept) and their rentals' net revenue (charged - refunded). Only the top ten by activations
    and the customers with a rental entry can be among them (anyone else has ten customers
    above them), so neither side is read for every customer."""
    orders = Activation.objects.filter(created_at__gte=query.start, created_at__lt=query.end)
    by_orders = orders.filter(_kept()).values("user_id")
    by_orders = by_orders.annotate(orders=Count("id"), revenue=_money(Sum("price")))
    sums = {r["user_id"]: r for r in by_orders.order_by("-revenue", "user_id")[:TOP]}
    rentals = dict(
        _rental_entries(query)
        .values("wallet__user_id")
        .annotate(net=_money(Sum("amount")))
        .values_list("wallet__user_id", "net")
    )
    for row in by_orders.filter(user_id__in=set(rentals) - set(sums)):
        sums[row["user_id"]] = row
    rows = [
        {
            "user_id": user_id,
            "orders": sums.get(user_id, {}).get("orders", 0),
            "revenue": sums.get(user_id, {}).get("revenue", ZERO),
            "rentals": ZERO - rentals.get(user_id, ZERO),  # charges are negative entries
        }
        for user_id in set(sums) | set(rentals)
    ]
    for row in rows:
        row["total"] = row["revenue"] + row["rentals"]
    rows = sorted(rows, key=lambda r: (-r["total"], r["user_id"]))[:TOP]
    # The e-mails of the few at the top, read afterwards rather than joined to every order.
    emails = dict(
        User.objects.filter(pk__in=[r["user_id"] for r in rows]).values_list("pk", "email")
    )
    return [
        {
            "customer": emails.get(r["user_id"], ""),
            "orders": r["orders"],
            "revenue": to_cents(r["revenue"]),
            "rentals": to_cents(r["rentals"]),
            "total": to_cents(r["total"]),
        }
        for r in rows
    ]


def runway_rows(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each enabled provider's cached balance ÷ its upstream spend per day over 7 days."""
    since = (now or timezone.now()) - timedelta(days=RUNWAY_DAYS)
    spend = dict(
        Activation.objects.filter(created_at__gte=since)
        .filter(_kept())
        .values("provider_id")
        .annotate(total=_money(Sum("cost")))
        .values_list("provider_id", "total")
    )
    rows = []
    for provider in Provider.objects.filter(enabled=True).order_by("name"):
        balance = provider_balance(provider=provider).amount
        per_day = spend.get(provider.pk, ZERO) / RUNWAY_DAYS
        rows.append(
            {
                "provider": provider.name,
                "balance": balance,
                "spend_per_day": to_cents(per_day),
                "runway_hours": _runway_hours(balance, per_day),
            }
        )
    return rows


def _runway_hours(balance: Decimal | None, per_day: Decimal) -> int | None:
    if balance is None or per_day <= ZERO:
        return None
    return int(balance / per_day * 24)


TABLES = {
    "activity": activity_rows,
    "rentals": rental_rows,
    "deposits": deposit_rows,
    "customers": customer_rows,
    "top": top_customer_rows,
    "runway": lambda query: runway_rows(),
}


def report_query(params) -> ReportQuery:
    """The query the page's form asks for; anything unreadable falls back to the last 30 days
    by day."""
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    start = _date(params.get("start")) or today - timedelta(days=30)
    end = _date(params.get("end"))
    end = (end + timedelta(days=1)) if end else today + timedelta(days=1)
    period = params.get("period") if params.get("period") in PERIODS else "day"
    dimension = params.get("dimension") if params.get("dimension") in DIMENSIONS else "none"
    return ReportQuery(start=start, end=end, period=period, dimension=dimension)


def _date(raw: object) -> datetime | None:
    try:
        parsed = datetime.strptime(str(raw or ""), "%Y-%m-%d")
    except ValueError:
        return None
    return timezone.make_aware(parsed, timezone.get_current_timezone())


# --- views ------------------------------------------------------------------------------------
def _require(request: HttpRequest) -> None:
    if not request.user.has_perm("smsbox.view_reports"):
        raise PermissionDenied("Reports are for Finance and the owner.")


def reports_view(request: HttpRequest) -> HttpResponse:
    from rentals.backoffice.views import page

    _require(request)
    query = report_query(request.GET)
    tables = {name: rows(query) for name, rows in TABLES.items()}
    chart = _chart(tables["activity"], tables["rentals"]) if query.dimension == "none" else None
    return page(
        request,
        "admin/backoffice/reports.html",
        "Reports",
        query=query,
        end_shown=(query.end - timedelta(days=1)).date(),
        tables=tables,
        chart=chart,
        periods=list(PERIODS),
        dimensions=list(DIMENSIONS),
        querystring=request.GET.urlencode(),
    )


def _chart(activity: list[dict[str, Any]], rentals: list[dict[str, Any]]) -> dict[str, Any]:
    """The chart's series per period: the activity's figures and the rentals' net revenue, 0
    where a period has none of one kind."""
    orders = {row["period"]: row for row in activity}
    rented = {row["period"]: row["net"] for row in rentals}
    labels = sorted(orders.keys() | rented.keys())
    none = str(to_cents(ZERO))  # a period without figures of one kind

    def series(name: str) -> list[str]:
        return [str(orders[p][name]) if p in orders else none for p in labels]

    return {
        "labels": labels,
        **{name: series(name) for name in ("revenue", "cost", "margin", "refunded")},
        "rentals": [str(rented[p]) if p in rented else none for p in labels],
    }


def reports_csv(request: HttpRequest, table: str) -> HttpResponse:
    _require(request)
    rows_of = TABLES.get(table)
    if rows_of is None:
        raise Http404("No such table.")
    rows = rows_of(report_query(request.GET))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="smsbox-{table}.csv"'
    if rows:
        writer = csv.DictWriter(response, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return response
