"""Report figures against a small history whose numbers are worked out by hand below (two
days, two providers, refunds, a purchase still without a number, top-ups of two processors;
rentals bought, extended and cancelled through their services), and the CSV of every table."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from providers.models import Country
from providers.selectors import balance_cache_key
from rentals.backoffice.reports import (
    ReportQuery,
    activity_rows,
    customer_rows,
    deposit_rows,
    rental_rows,
    runway_rows,
    top_customer_rows,
)
from rentals.services.rentals import rental_cancel, rental_extend, rental_purchase
from smsbox.models import User
from tests.backoffice.conftest import client_for
from tests.factories import ActivationFactory, ProviderFactory, UserFactory
from tests.rentals.rental_support import fund, rent_simulator, usa_plans
from wallets.models import PaymentProcessor, TopUp
from wallets.services import wallet_get_or_create

pytestmark = pytest.mark.django_db

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)
DAY_1 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DAY_2 = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
RANGE = {"start": "2026-11-01", "end": "2026-11-30"}


def sale(user, provider, at, price, cost, state, sms_after=None, number=True):
    return ActivationFactory(
        user=user,
        provider=provider,
        created_at=at,
        number_at=at if number else None,
        sms_received_at=at + timedelta(seconds=sms_after) if sms_after is not None else None,
        price=Decimal(price),
        cost=Decimal(cost),
        state=state,
    )


@pytest.fixture
def history():
    alpha, beta = ProviderFactory(name="Alpha"), ProviderFactory(name="Beta")
    u1, u2 = UserFactory(email="one@example.com"), UserFactory(email="two@example.com")
    User.objects.filter(pk=u1.pk).update(created_at=DAY_1)
    User.objects.filter(pk=u2.pk).update(created_at=NOV_1)
    # day 1, Alpha
    sale(u1, alpha, DAY_1, "1.00", "0.60", "completed", sms_after=30)
    sale(u1, alpha, DAY_1, "2.00", "1.50", "completed", sms_after=90)
    sale(u1, alpha, DAY_1, "1.50", "1.00", "cancelled")  # refunded
    # day 1, Beta
    sale(u2, beta, DAY_1, "3.00", "2.00", "expired")  # refunded
    sale(u2, beta, DAY_1, "0.50", "0.20", "completed", sms_after=60)
    # day 2, Alpha
    sale(u1, alpha, DAY_2, "1.00", "0.70", "completed", sms_after=120)
    sale(u1, alpha, DAY_2, "1.00", "0.70", "processing", number=False)  # not an order yet
    # top-ups: two credited with Cryptomus on day 1, one with the sandbox on day 2, one unpaid
    crypto = PaymentProcessor.objects.create(name="cryptomus", kind="cryptomus")
    sandbox = PaymentProcessor.objects.create(name="sandbox", kind="sandbox")
    for user, processor, at, amount, credited in [
        (u1, crypto, DAY_1, "20.00", "20.00"),
        (u2, crypto, DAY_1, "5.00", "5.00"),
        (u1, sandbox, DAY_2, "10.00", "10.00"),
        (u2, crypto, DAY_2, "100.00", "0"),
    ]:
        top_up = TopUp.objects.create(
            wallet=wallet_get_or_create(user=user),
            user=user,
            processor=processor,
            amount=Decimal(amount),
            amount_credited=Decimal(credited),
            currency="USD",
            pay_currency="USDT",
            order_id=f"o-{TopUp.objects.count()}",
        )
        TopUp.objects.filter(pk=top_up.pk).update(created_at=at)
    return alpha, beta


def query(period="day", dimension="none") -> ReportQuery:
    return ReportQuery(
        start=NOV_1, end=datetime(2026, 12, 1, tzinfo=UTC), period=period, dimension=dimension
    )


def test_activity_per_day(history):
    day_1, day_2 = activity_rows(query())
    # day 1: five orders (all got a number), three with an SMS
    assert day_1 == {
        "period": "2026-11-02",
        "group": "",
        "orders": 5,
        "revenue": Decimal("3.50"),  # 1.00 + 2.00 + 0.50 (the refunded 1.50 and 3.00 are not)
        "cost": Decimal("2.30"),  # 0.60 + 1.50 + 0.20
        "margin": Decimal("1.20"),
        "refunds": 2,
        "refunded": Decimal("4.50"),  # 1.50 + 3.00
        "success_rate": 0.6,  # 3 / 5
        "time_to_code_s": 60,  # (30 + 90 + 60) / 3
    }
    # day 2: one order (the purchase still without a number is none), with an SMS
    assert day_2 == {
        "period": "2026-11-03",
        "group": "",
        "orders": 1,
        "revenue": Decimal("1.00"),
        "cost": Decimal("0.70"),
        "margin": Decimal("0.30"),
        "refunds": 0,
        "refunded": Decimal("0.00"),
        "success_rate": 1.0,
        "time_to_code_s": 120,
    }


def test_activity_per_day_and_provider(history):
    rows = {(r["period"], r["group"]): r for r in activity_rows(query(dimension="provider"))}
    assert set(rows) == {("2026-11-02", "Alpha"), ("2026-11-02", "Beta"), ("2026-11-03", "Alpha")}
    alpha_1, beta_1 = rows["2026-11-02", "Alpha"], rows["2026-11-02", "Beta"]
    assert (alpha_1["orders"], alpha_1["revenue"], alpha_1["cost"], alpha_1["margin"]) == (
        3,
        Decimal("3.00"),
        Decimal("2.10"),
        Decimal("0.90"),
    )
    assert (alpha_1["refunds"], alpha_1["refunded"], alpha_1["success_rate"]) == (
        1,
        Decimal("1.50"),
        0.667,  # 2 / 3
    )
    assert alpha_1["time_to_code_s"] == 60  # (30 + 90) / 2
    assert (beta_1["orders"], beta_1["revenue"], beta_1["cost"], beta_1["margin"]) == (
        2,
        Decimal("0.50"),
        Decimal("0.20"),
        Decimal("0.30"),
    )
    assert (beta_1["refunds"], beta_1["refunded"], beta_1["success_rate"]) == (
        1,
        Decimal("3.00"),
        0.5,
    )


def test_activity_per_month_and_by_service_and_country(history):
    (month,) = activity_rows(query(period="month"))
    assert month["period"] == "2026-11-01"
    assert (month["orders"], month["revenue"], month["cost"], month["margin"]) == (
        6,
        Decimal("4.50"),
        Decimal("3.00"),
        Decimal("1.50"),
    )
    assert (month["refunds"], month["refunded"], month["success_rate"]) == (
        2,
        Decimal("4.50"),
        0.667,
    )
    assert month["time_to_code_s"] == 75  # (30 + 90 + 60 + 120) / 4
    (week,) = activity_rows(query(period="week", dimension="service"))
    assert week["period"] == "2026-11-02" and week["group"] == "Telegram"  # a Monday
    assert week["orders"] == 6
    by_country = activity_rows(query(period="month", dimension="country"))
    usa = Country.objects.get(sms_activate_id=187).name_en
    assert [(r["group"], r["orders"]) for r in by_country] == [(usa, 6)]


def test_deposits_per_processor(history):
    assert deposit_rows(query()) == [
        {
            "period": "2026-11-02",
            "processor": "cryptomus",
            "top_ups": 2,
            "credited": Decimal("25.00"),
        },
        {
            "period": "2026-11-03",
            "processor": "sandbox",
            "top_ups": 1,
            "credited": Decimal("10.00"),
        },
    ]


def test_customers_active_new_and_top(history):
    assert customer_rows(query()) == [
        {"period": "2026-11-01", "active": 0, "new": 1},
        {"period": "2026-11-02", "active": 2, "new": 1},
        {"period": "2026-11-03", "active": 1, "new": 0},
    ]
    assert top_customer_rows(query()) == [
        {
            "customer": "one@example.com",
            "orders": 3,
            "revenue": Decimal("4.00"),  # 1 + 2 + 1
            "rentals": Decimal("0.00"),
            "total": Decimal("4.00"),
        },
        {
            "customer": "two@example.com",
            "orders": 1,
            "revenue": Decimal("0.50"),
            "rentals": Decimal("0.00"),
            "total": Decimal("0.50"),
        },
    ]


def test_provider_balance_runway(history):
    alpha, beta = history
    cache.set(balance_cache_key(alpha.pk), "70.00")
    cache.set(balance_cache_key(beta.pk), "1.00")
    rows = {r["provider"]: r for r in runway_rows(now=NOW)}
    # Alpha spent 0.60 + 1.50 + 0.70 = 2.80 in 7 days: 0.40 a day; 70.00 lasts 175 days
    assert rows["Alpha"]["spend_per_day"] == Decimal("0.40")
    assert rows["Alpha"]["runway_hours"] == 175 * 24
    # Beta spent 0.20 (its refunded sale cost nothing): 1.00 / (0.20 / 7) days = 35 days
    assert rows["Beta"]["spend_per_day"] == Decimal("0.03")
    assert rows["Beta"]["runway_hours"] == 35 * 24


def test_the_runway_is_unknown_without_a_balance_or_spend(history):
    alpha, _ = history
    ProviderFactory(name="Idle")
    cache.set(balance_cache_key(alpha.pk), "70.00")
    rows = {r["provider"]: r for r in runway_rows(now=NOW + timedelta(days=30))}
    assert rows["Alpha"]["runway_hours"] is None  # nothing spent in the last 7 days
    assert rows["Beta"]["runway_hours"] is None  # balance never checked


@pytest.fixture
def finance(client, operator_of):
    return client_for(client, operator_of("Finance"))


def read_csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_page_shows_the_figures_and_the_chart_data(finance, history):
    response = finance.get(reverse("backoffice:reports"), RANGE)
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["chart"]["labels"] == ["2026-11-02", "2026-11-03"]
    assert response.context["chart"]["revenue"] == ["3.50", "1.00"]
    assert response.context["chart"]["refunded"] == ["4.50", "0.00"]
    assert 'id="bo-chart-data"' in body and "chart.umd.min.js" in body and "reports.js" in body
    for figure in ["3.50", "2.30", "1.20", "4.50", "25.00", "one@example.com"]:
        assert figure in body


def test_csv_of_activity(finance, history):
    url = reverse("backoffice:reports-csv", args=["activity"])
    rows = read_csv(finance.get(url, {**RANGE, "dimension": "provider"}))
    assert [(r["period"], r["group"], r["revenue"], r["refunded"]) for r in rows] == [
        ("2026-11-02", "Alpha", "3.00", "1.50"),
        ("2026-11-02", "Beta", "0.50", "3.00"),
        ("2026-11-03", "Alpha", "1.00", "0.00"),
    ]
    assert list(rows[0]) == [
        "period",
        "group",
        "orders",
        "revenue",
        "cost",
        "margin",
        "refunds",
        "refunded",
        "success_rate",
        "time_to_code_s",
    ]


def test_csv_of_deposits_customers_and_top(finance, history):
    csv_of = lambda table: read_csv(  # noqa: E731
        finance.get(reverse("backoffice:reports-csv", args=[table]), RANGE)
    )
    assert [(r["processor"], r["credited"]) for r in csv_of("deposits")] == [
        ("cryptomus", "25.00"),
        ("sandbox", "10.00"),
    ]
    assert [(r["period"], r["active"], r["new"]) for r in csv_of("customers")] == [
        ("2026-11-01", "0", "1"),
        ("2026-11-02", "2", "1"),
        ("2026-11-03", "1", "0"),
    ]
    assert [(r["customer"], r["revenue"]) for r in csv_of("top")] == [
        ("one@example.com", "4.00"),
        ("two@example.com", "0.50"),
    ]


def test_csv_of_runway(finance, history):
    alpha, _ = history
    cache.set(balance_cache_key(alpha.pk), "70.00")
    with time_machine.travel(NOW, tick=False):
        rows = read_csv(finance.get(reverse("backoffice:reports-csv", args=["runway"])))
    assert {r["provider"]: r["runway_hours"] for r in rows} == {"Alpha": "4200", "Beta": ""}


def test_an_unknown_table_is_404(finance):
    assert finance.get(reverse("backoffice:reports-csv", args=["nope"])).status_code == 404


def test_unreadable_parameters_fall_back_to_the_defaults(finance, history):
    response = finance.get(
        reverse("backoffice:reports"), {"start": "x", "end": "2026-13-45", "period": "' OR 1=1"}
    )
    assert response.status_code == 200


# --- long-term rentals, from their ledger entries ----------------------------------------------
@pytest.fixture
def rentals_history(operator_of):
    """Plans of the USA: 24 h = 3.00, 7 days = 8.00, 1m = 15.00. Day 1: two purchases, one
    cancelled (refunded). Day 2: a paid extension, one given by an operator (no charge), a
    purchase of another customer. A purchase in December, outside the range."""
    rent_simulator()
    usa_plans()
    usa = Country.objects.get(sms_activate_id=187)
    one, two = UserFactory(email="renter@example.com"), UserFactory(email="other@example.com")
    fund(one, "100.00")
    fund(two, "100.00")
    with time_machine.travel(DAY_1, tick=False):
        kept = rental_purchase(user=one, country=usa, hours=168)
        rental_cancel(rental=rental_purchase(user=one, country=usa, package="1m"))
    with time_machine.travel(DAY_2, tick=False):
        kept = rental_extend(rental=kept, hours=24)
        rental_extend(rental=kept, hours=24, charge=False, actor=operator_of("Support"))
        rental_purchase(user=two, country=usa, hours=24)
    with time_machine.travel(datetime(2026, 12, 2, tzinfo=UTC), tick=False):
        rental_purchase(user=two, country=usa, hours=24)


def test_rentals_per_day_from_the_ledger(rentals_history):
    assert rental_rows(query()) == [
        {
            "period": "2026-11-02",
            "purchases": 2,
            "periods_added": 0,
            "charged": Decimal("23.00"),  # 8.00 + 15.00
            "refunds": 1,
            "refunded": Decimal("15.00"),  # the cancelled 1m
            "net": Decimal("8.00"),
        },
        {
            "period": "2026-11-03",
            "purchases": 1,
            "periods_added": 1,  # the operator's extension charged nothing
            "charged": Decimal("6.00"),  # 3.00 + 3.00
            "refunds": 0,
            "refunded": Decimal("0.00"),
            "net": Decimal("6.00"),
        },
    ]
    (month,) = rental_rows(query(period="month"))
    assert (month["purchases"], month["charged"], month["refunded"], month["net"]) == (
        3,
        Decimal("29.00"),
        Decimal("15.00"),
        Decimal("14.00"),
    )
    assert activity_rows(query()) == []  # rentals are not activations' orders


def test_renters_are_active_customers_once(history, rentals_history):
    # Day 1: u1 and u2 bought activations, the renter rented: 3. Day 2: u1 bought, the renter
    # extended, the other customer rented and bought an activation: 3.
    User.objects.filter(email="renter@example.com").update(created_at=NOV_1)
    User.objects.filter(email="other@example.com").update(created_at=NOV_1)
    ActivationFactory(user=User.objects.get(email="other@example.com"), created_at=DAY_2)
    assert customer_rows(query()) == [
        {"period": "2026-11-01", "active": 0, "new": 3},
        {"period": "2026-11-02", "active": 3, "new": 1},
        {"period": "2026-11-03", "active": 3, "new": 0},  # the other customer counted once
    ]


def test_top_customers_count_their_rentals(history, rentals_history):
    top = [
        (r["customer"], r["revenue"], r["rentals"], r["total"]) for r in top_customer_rows(query())
    ]
    assert top == [
        ("renter@example.com", Decimal("0.00"), Decimal("11.00"), Decimal("11.00")),  # 8 + 3
        ("one@example.com", Decimal("4.00"), Decimal("0.00"), Decimal("4.00")),
        ("other@example.com", Decimal("0.00"), Decimal("3.00"), Decimal("3.00")),
        ("two@example.com", Decimal("0.50"), Decimal("0.00"), Decimal("0.50")),
    ]


def test_the_top_is_ten_customers_whoever_brought_the_most(rentals_history, monkeypatch):
    monkeypatch.setattr("rentals.backoffice.reports.TOP", 1)
    provider = ProviderFactory(name="Gamma")
    sale(UserFactory(email="big@example.com"), provider, DAY_1, "12.00", "5.00", "completed")
    sale(UserFactory(email="small@example.com"), provider, DAY_1, "1.00", "0.50", "completed")
    assert [r["customer"] for r in top_customer_rows(query())] == ["big@example.com"]
    monkeypatch.setattr("rentals.backoffice.reports.TOP", 2)  # the renter's 11.00 next
    assert [r["customer"] for r in top_customer_rows(query())] == [
        "big@example.com",
        "renter@example.com",
    ]


def test_the_page_and_csv_show_the_rentals(finance, rentals_history):
    response = finance.get(reverse("backoffice:reports"), RANGE)
    body = response.content.decode()
    assert "Rentals per day" in body and "23.00" in body and "15.00" in body
    chart = response.context["chart"]  # no activations: their series are zeros
    assert chart["labels"] == ["2026-11-02", "2026-11-03"]
    assert (chart["rentals"], chart["revenue"]) == (["8.00", "6.00"], ["0.00", "0.00"])
    rows = read_csv(finance.get(reverse("backoffice:reports-csv", args=["rentals"]), RANGE))
    assert [(r["period"], r["charged"], r["refunded"], r["net"]) for r in rows] == [
        ("2026-11-02", "23.00", "15.00", "8.00"),
        ("2026-11-03", "6.00", "0.00", "6.00"),
    ]


# --- the daily roll-up ------------------------------------------------------------------------
@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("dimension", ["none", "provider", "service", "country"])
def test_the_roll_up_answers_what_the_orders_answer(history, period, dimension):
    from rentals.backoffice.rollup import report_days_refresh
    from rentals.models import ReportDay

    live = activity_rows(query(period, dimension))
    assert report_days_refresh(today=date(2026, 11, 10)) > 0
    assert ReportDay.objects.filter(day=date(2026, 11, 2), dimension="none").get().orders == 5
    assert activity_rows(query(period, dimension)) == live


def test_the_roll_up_and_the_live_tail_add_up(history):
    from rentals.backoffice.rollup import report_days_refresh

    live = activity_rows(query("month"))
    assert report_days_refresh(today=date(2026, 11, 3)) > 0  # day 1 rolled up, day 2 live
    assert activity_rows(query("month")) == live


def test_a_change_within_the_last_days_is_rolled_up_again(history):
    from rentals.backoffice.rollup import report_days_refresh
    from rentals.models import Activation, ReportDay

    report_days_refresh(today=date(2026, 11, 4))
    Activation.objects.filter(created_at=DAY_2, state="completed").update(state="expired")
    assert report_days_refresh(today=date(2026, 11, 5)) > 0
    day_2 = activity_rows(query())[1]
    assert (day_2["revenue"], day_2["refunds"], day_2["refunded"]) == (
        Decimal("0.00"),
        1,
        Decimal("1.00"),
    )
    # run again: the same rows, not twice as many
    count = ReportDay.objects.count()
    report_days_refresh(today=date(2026, 11, 5))
    assert ReportDay.objects.count() == count


def test_nothing_to_roll_up_without_orders():
    from rentals.backoffice.rollup import report_days_run

    assert report_days_run() == 0
