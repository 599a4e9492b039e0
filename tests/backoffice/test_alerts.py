"""Operator alerts (runway, breaker, success rate): each triggers on its condition, stays quiet
otherwise, and is sent once per episode; the abuse rule suspends only the accounts it should."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from providers import breaker
from providers.models import PurchaseAttempt
from providers.selectors import balance_cache_key
from rentals.backoffice import alerts
from smsbox.models import AlertEpisode, JobRun, OperatorAction, User
from tests.factories import ActivationFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _alert_settings(settings):
    settings.SMSBOX_ALERT_EMAILS = ["ops@example.com", "owner@example.com"]
    settings.SMSBOX_ALERT_RUNWAY_HOURS = 48
    settings.SMSBOX_ALERT_SUCCESS_RATE = Decimal("0.5")
    settings.SMSBOX_ALERT_BREAKER_MINUTES = 10
    settings.SMSBOX_BREAKER_FAILURES = 3
    settings.SMSBOX_BREAKER_COOLDOWN = 60


def alert_mails(mailoutbox, kind_text: str) -> list:
    return [m for m in mailoutbox if kind_text in m.subject]


# --- runway -----------------------------------------------------------------------------------
def spend(provider, per_day: str) -> None:
    """Seven days of sales costing ``per_day`` each day."""
    for day in range(7):
        at = timezone.now() - timedelta(days=day, hours=1)
        ActivationFactory(
            provider=provider, created_at=at, cost=Decimal(per_day), state="completed"
        )


def test_a_short_runway_alerts_once_per_episode(mailoutbox):
    provider = ProviderFactory(name="Hero")
    spend(provider, "10.00")
    cache.set(balance_cache_key(provider.pk), "15.00")  # 1.5 days = 36 h < 48 h
    assert alerts.alerts_run() == 1
    (mail,) = alert_mails(mailoutbox, "balance left")
    assert "Hero: 36 h" in mail.subject and mail.to == ["ops@example.com", "owner@example.com"]
    # while it lasts: nothing more
    assert alerts.alerts_run() == 0
    assert len(alert_mails(mailoutbox, "balance left")) == 1
    # topped up: the episode closes; short again later: a new episode, a new mail
    cache.set(balance_cache_key(provider.pk), "1000.00")
    assert alerts.alerts_run() == 0
    assert AlertEpisode.objects.get(kind="runway").closed_at is not None
    cache.set(balance_cache_key(provider.pk), "5.00")
    assert alerts.alerts_run() == 1
    assert len(alert_mails(mailoutbox, "balance left")) == 2
    # and the job history has every run with what it sent
    runs = JobRun.objects.filter(name="backoffice.alerts").order_by("id")
    assert [run.rows for run in runs] == [1, 0, 0, 1]


def test_a_long_runway_or_an_unknown_balance_does_not_alert(mailoutbox):
    rich, unknown = ProviderFactory(name="Rich"), ProviderFactory(name="Unknown")
    spend(rich, "10.00")
    spend(unknown, "10.00")
    cache.set(balance_cache_key(rich.pk), "21.00")  # 50.4 h: just above 48 h
    assert alerts.alerts_run() == 0
    assert mailoutbox == []


# --- breaker ----------------------------------------------------------------------------------
def fail(provider, times: int = 3) -> None:
    for _ in range(times):
        breaker.breaker_record_failure(provider.pk)


def test_a_breaker_open_longer_than_ten_minutes_alerts_once(mailoutbox):
    provider = ProviderFactory(name="Flaky")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(provider)
        assert alerts.alerts_run() == 0  # just opened
    # every cool-down a half-open trial fails and opens it again: still one episode
    for minute in range(1, 12):
        with time_machine.travel(start + timedelta(minutes=minute, seconds=5), tick=False):
            assert breaker.breaker_allows(provider.pk)  # the trial caller
            breaker.breaker_record_failure(provider.pk)
            alerts.alerts_run()
    (mail,) = alert_mails(mailoutbox, "breaker open")
    assert "Flaky: breaker open 1" in mail.subject  # 10 or 11 minutes


def test_a_breaker_open_for_a_few_minutes_or_closed_again_does_not_alert(mailoutbox):
    provider = ProviderFactory(name="Blip")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(provider)
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        assert alerts.alerts_run() == 0
        breaker.breaker_record_success(provider.pk)  # recovered
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        assert alerts.alerts_run() == 0
    assert alert_mails(mailoutbox, "breaker") == []


# --- success rate over the last 50 orders -----------------------------------------------------
def attempts(provider, offer_of, sold: int, with_sms: int) -> None:
    service, country = offer_of
    now = timezone.now()
    for i in range(sold):
        PurchaseAttempt.objects.create(
            provider=provider,
            service=service,
            country=country,
            outcome=PurchaseAttempt.Outcome.BOUGHT,
            latency_ms=100,
            created_at=now - timedelta(minutes=sold - i),
            sms_received_at=now if i < with_sms else None,
        )


@pytest.fixture
def offer_of():
    from providers.models import Country, Service

    return Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)


def test_a_low_success_rate_over_the_last_50_orders_alerts_once(mailoutbox, offer_of):
    provider = ProviderFactory(name="Silent")
    attempts(provider, offer_of, sold=50, with_sms=20)  # 40 % < 50 %
    assert alerts.alerts_run() == 1
    assert alerts.alerts_run() == 0
    (mail,) = alert_mails(mailoutbox, "got an SMS")
    assert "Silent: 40% of its last 50 orders" in mail.subject


@pytest.mark.parametrize("sold, with_sms", [(50, 25), (50, 40), (49, 0)])
def test_a_good_rate_or_fewer_than_50_orders_does_not_alert(mailoutbox, offer_of, sold, with_sms):
    attempts(ProviderFactory(name="Fine"), offer_of, sold=sold, with_sms=with_sms)
    assert alerts.alerts_run() == 0
    assert mailoutbox == []


def test_only_the_last_50_orders_count(mailoutbox, offer_of):
    provider = ProviderFactory(name="Recovered")
    attempts(provider, offer_of, sold=50, with_sms=0)  # an old bad stretch …
    service, country = offer_of
    for _ in range(50):  # … then 50 newer orders, all with an SMS
        PurchaseAttempt.objects.create(
            provider=provider,
            service=service,
            country=country,
            outcome=PurchaseAttempt.Outcome.BOUGHT,
            latency_ms=100,
            created_at=timezone.now() + timedelta(minutes=1),
            sms_received_at=timezone.now(),
        )
    assert alerts.alerts_run() == 0


def test_a_disabled_provider_does_not_alert(mailoutbox, offer_of):
    provider = ProviderFactory(name="Off", enabled=False)
    attempts(provider, offer_of, sold=50, with_sms=0)
    assert alerts.alerts_run() == 0


# --- the abuse rule ---------------------------------------------------------------------------
def orders_today(user, count: int, with_sms: int) -> None:
    now = timezone.now()
    for i in range(count):
        ActivationFactory(
            user=user,
            created_at=now,
            sms_received_at=now if i < with_sms else None,
            state="completed" if i < with_sms else "cancelled",
        )


def test_the_abuse_rule_is_off_by_default(settings):
    assert settings.SMSBOX_ABUSE_SUCCESS_RATE is None
    user = UserFactory()
    orders_today(user, 30, 0)
    assert alerts.abuse_run() == 0
    user.refresh_from_db()
    assert user.purchases_suspended_at is None


@pytest.fixture
def abuse_on(settings):
    settings.SMSBOX_ABUSE_SUCCESS_RATE = Decimal("0.3")
    settings.SMSBOX_ABUSE_MIN_ORDERS = 10


def test_an_account_under_the_rate_after_enough_orders_is_suspended(abuse_on, mailoutbox):
    abuser = UserFactory(email="abuser@example.com")
    orders_today(abuser, 10, 2)  # 20 % < 30 %
    assert alerts.abuse_run() == 1
    abuser.refresh_from_db()
    assert abuser.purchases_suspended_at is not None
    assert "2 of 10" in abuser.suspension_reason
    row = OperatorAction.objects.get(action="customer.suspend")
    assert row.customer == abuser and row.actor is None
    (notice,) = [m for m in mailoutbox if "abuser@example.com" in m.subject]
    assert notice.to == ["ops@example.com", "owner@example.com"]
    # once: a second run finds it suspended already
    assert alerts.abuse_run() == 0


@pytest.mark.parametrize(
    "count, with_sms",
    [(10, 3), (9, 0), (20, 10)],  # at the rate; too few orders; a good rate
)
def test_accounts_the_rule_leaves_alone(abuse_on, count, with_sms):
    user = UserFactory()
    orders_today(user, count, with_sms)
    assert alerts.abuse_run() == 0
    assert User.objects.get(pk=user.pk).purchases_suspended_at is None


def test_yesterdays_orders_do_not_count(abuse_on):
    user = UserFactory()
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        orders_today(user, 20, 0)
    assert alerts.abuse_run() == 0
