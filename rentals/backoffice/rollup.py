"""The reports' daily roll-up (``ReportDay``): each closed day's activity figures, in total and
per provider, service and country, so that a year of reports sums a few thousand rows instead
of aggregating every order.

A periodic job rebuilds the last ``REBUILT_DAYS`` closed days on every run (orders settle
within minutes: an expiry, a cancel, a late code; reconciliation within hours) and rolls up any
closed day never rolled up (the first run fills the whole history). Reports read the roll-up
for the whole days it covers within their range and the orders themselves after, so today is
always live.
"""

from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, Sum
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from rentals.models import Activation, ReportDay
from smsbox.jobs import tracked_job

REBUILT_DAYS = 3
GROUPS = {
    "none": None,
    "provider": "provider__name",
    "service": "service__name",
    "country": "country__name_en",
}
DAY_PERIODS = {"week": TruncWeek, "month": TruncMonth}


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()), timezone.get_current_timezone())


def report_days_refresh(*, today: date | None = None) -> int:
    """Roll up the closed days that can still change and those never rolled up; answers how
    many rows were written (0 when another run got there first)."""
    from rentals.backoffice.reports import activity_sums

    today = today or timezone.localdate()
    last = ReportDay.objects.aggregate(last=Max("day"))["last"]
    if last is None:
        first = Activation.objects.aggregate(first=Min("created_at"))["first"]
        if first is None:
            return 0
        since = timezone.localtime(first).date()
    else:
        since = min(last + timedelta(days=1), today - timedelta(days=REBUILT_DAYS))
    if since >= today:
        return 0
    rows = []
    for dimension, field in GROUPS.items():
        for row in activity_sums(
            _midnight(since), _midnight(today), bucket=TruncDate("created_at"), group=field
        ):
            code = row["code_time"]
            rows.append(
                ReportDay(
                    day=row["bucket"],
                    dimension=dimension,
                    group=(row.get(field) or "") if field else "",
                    orders=row["orders"],
                    with_sms=row["with_sms"],
                    revenue=row["revenue"],
                    cost=row["cost"],
                    refunds=row["refunds"],
                    refunded=row["refunded"],
                    code_seconds=code.total_seconds() if code else 0.0,
                )
            )
    try:
        with transaction.atomic():
            ReportDay.objects.filter(day__gte=since).delete()
            ReportDay.objects.bulk_create(rows, batch_size=2000)
    except IntegrityError:  # another run wrote the same days at the same time
        return 0
    return len(rows)


def rollup_covers(start: datetime, end: datetime) -> datetime:
    """Where the reports must read the orders themselves: the roll-up covers the whole days
    from ``start`` (a local midnight) up to this moment (``start`` when it covers none)."""
    if timezone.localtime(start).time() != time():
        return start
    last = ReportDay.objects.filter(day__gte=timezone.localtime(start).date()).aggregate(
        last=Max("day")
    )["last"]
    if last is None:
        return start
    return min(max(_midnight(last + timedelta(days=1)), start), end)


def rolled_sums(query, *, until: datetime):
    """The roll-up's sums per period bucket (a date) and group, for the days of ``query``
    before ``until``."""
    days = ReportDay.objects.filter(
        dimension=query.dimension,
        day__gte=timezone.localtime(query.start).date(),
        day__lt=timezone.localtime(until).date(),
    )
    period = DAY_PERIODS.get(query.period)
    days = days.annotate(bucket=period("day") if period else F("day"))
    return (
        days.values("bucket", "group")
        .annotate(
            orders=Sum("orders"),
            with_sms=Sum("with_sms"),
            revenue=Sum("revenue"),
            cost=Sum("cost"),
            refunds=Sum("refunds"),
            refunded=Sum("refunded"),
            code_seconds=Sum("code_seconds"),
        )
        .order_by("bucket", "group")
    )


@tracked_job("backoffice.report_days")
def report_days_run() -> int:
    return report_days_refresh()
