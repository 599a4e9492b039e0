from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from providers import tasks
from providers.adapters import BadCredentials, Transient
from providers.models import Country, Offer, PriceRule, Provider, PurchaseAttempt, Service
from providers.services import (
    offers_sync,
    provider_add,
    provider_test_connection,
    purchase_attempt_mark_sms,
    simulator_seed_demo,
    upstream_sms_dispatch,
)
from smsbox.errors import InvalidInput
from tests.factories import OfferFactory, ProviderFactory
from tests.providers.fakes import text

pytestmark = pytest.mark.django_db


def test_provider_add_validates():
    provider = provider_add(
        name=" Hero ",
        protocol="sms_activate",
        base_url="https://hero.example/stubs/handler_api.php",
    )
    assert provider.name == "Hero" and provider.enabled

    with pytest.raises(InvalidInput, match="already exists"):
        provider_add(name="Hero", protocol="simulator")
    with pytest.raises(InvalidInput, match="Unknown protocol"):
        provider_add(name="X", protocol="carrier-pigeon")
    with pytest.raises(InvalidInput, match="base URL"):
        provider_add(name="Y", protocol="simsmsbox", base_url="ftp://nope")
    with pytest.raises(InvalidInput, match="timeout"):
        provider_add(name="Z", protocol="simulator", timeout=Decimal("0"))
    with pytest.raises(InvalidInput, match="fail_timeout must be a share"):
        provider_add(name="Z", protocol="simulator", settings={"fail_timeout": -1})
    assert provider_add(name="Sim", protocol="simulator").base_url == ""


def test_provider_add_command_with_sync(fake_sms_activate):
    out = StringIO()

    call_command(
        "provider_add",
        "SMSPool",
        "--protocol",
        "sms_activate",
        "--base-url",
        fake_sms_activate.handler_url,
        "--api-key",
        "upstream-secret",
        "--param",
        "setting=smspool",
        "--param",
        "pool=7",
        "--sync",
        stdout=out,
    )

    provider = Provider.objects.get(name="SMSPool")
    assert provider.extra_params == {"setting": "smspool", "pool": "7"}
    assert provider.api_key == "upstream-secret"
    assert "upstream-secret" not in out.getvalue()
    assert "offers: 3 synced" in out.getvalue()
    assert Offer.objects.filter(provider=provider).count() == 3


@pytest.mark.parametrize(
    "args",
    [
        ["Bad", "--protocol", "simsmsbox"],
        ["Bad", "--protocol", "simulator", "--timeout", "soon"],
        ["Bad", "--protocol", "simulator", "--param", "novalue"],
        ["Bad", "--protocol", "simulator", "--options", "[1]"],
    ],
)
def test_provider_add_command_refuses_bad_input(args):
    with pytest.raises(CommandError):
        call_command("provider_add", *args, stdout=StringIO())
    assert not Provider.objects.exists()


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        ("NaN", "positive number of seconds"),
        ("sNaN", "positive number of seconds"),
        ("Infinity", "positive number of seconds"),
        ("-Infinity", "positive number of seconds"),
        ("-1", "positive number of seconds"),
        ("1000", "below 1000 seconds"),
        ("1e6", "below 1000 seconds"),
        ("0.001", "at most 2 decimal places"),
    ],
)
def test_provider_add_refuses_a_timeout_the_column_cannot_hold(timeout, message):
    with pytest.raises(InvalidInput, match=message):
        provider_add(name="Slow", protocol="simulator", timeout=Decimal(timeout))
    with pytest.raises(CommandError, match=message):
        call_command(
            "provider_add",
            "Slow",
            "--protocol",
            "simulator",
            f"--timeout={timeout}",
            stdout=StringIO(),
        )
    assert not Provider.objects.exists()
    assert provider_add(name="Ok", protocol="simulator", timeout=Decimal("999.99")).timeout == (
        Decimal("999.99")
    )


def test_provider_add_command_sync_failure_is_a_clear_error(fake_sms_activate):
    with pytest.raises(CommandError, match="could not be synced"):
        call_command(
            "provider_add",
            "Wrong",
            "--protocol",
            "sms_activate",
            "--base-url",
            fake_sms_activate.handler_url,
            "--api-key",
            "wrong",
            "--sync",
            stdout=StringIO(),
        )


def test_offers_sync_upserts_and_marks_vanished_out_of_stock(fake_sms_activate):
    provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    usa = Country.objects.get(sms_activate_id=187)
    stale = OfferFactory(
        provider=provider, service=Service.objects.get(code="vk"), country=usa, stock=5
    )
    other_provider = OfferFactory(service=Service.objects.get(code="vk"), country=usa, stock=5)

    result = offers_sync(provider=provider)

    assert (result.upserted, result.out_of_stock, result.skipped) == (
        3,
        1,
        1,
    )  # zz_unknown is not in our catalog
    tg_usa = Offer.objects.get(provider=provider, service__code="tg", country=usa)
    assert (tg_usa.cost, tg_usa.stock) == (Decimal("0.5"), 12)
    stale.refresh_from_db()
    other_provider.refresh_from_db()
    assert stale.stock == 0 and other_provider.stock == 5

    fake_sms_activate.prices["187"]["tg"] = {"cost": "0.55", "count": 3}
    offers_sync(provider=provider)
    tg_usa.refresh_from_db()
    assert (tg_usa.cost, tg_usa.stock) == (Decimal("0.55"), 3)
    assert Offer.objects.filter(provider=provider).count() == 4


@pytest.mark.parametrize(
    ("figures", "skipped"),
    [
        ({"cost": "1e15", "count": 3}, 2),
        ({"cost": "10000000000", "count": 3}, 2),
        ({"cost": "0.12345", "count": 3}, 2),
        ({"cost": "0.50", "count": 10**12}, 2),
        ({"cost": "0.50", "count": 2**31}, 2),
        # not numbers at all: the adapter drops the line before the sync sees it
        ({"cost": "NaN", "count": 3}, 1),
        ({"cost": "Infinity", "count": 3}, 1),
        ({"cost": "0.50", "count": float("inf")}, 1),
    ],
)
def test_offers_sync_skips_lines_the_columns_cannot_hold(fake_sms_activate, figures, skipped):
    provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    fake_sms_activate.prices["187"]["tg"] = figures

    result = offers_sync(provider=provider)

    assert (result.upserted, result.skipped) == (2, skipped)  # zz_unknown is one of them
    offers = Offer.objects.filter(provider=provider)
    assert sorted(offers.values_list("service__code", "country__sms_activate_id")) == [
        ("tg", 0),
        ("wa", 187),
    ]


def test_offers_sync_counts_and_logs_unreadable_figures(fake_sms_activate, caplog):
    provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    fake_sms_activate.prices["187"]["tg"] = {"cost": "1e15", "count": 3}
    fake_sms_activate.prices["0"]["tg"] = {"cost": "0.2", "count": 10**12}

    with caplog.at_level("WARNING", logger="providers.services"):
        result = offers_sync(provider=provider)

    assert (result.upserted, result.skipped, result.unreadable) == (1, 3, 2)
    assert "cost 1E+15 is not below 10000000000" in caplog.text
    assert f"stock {10**12} is not between 0 and {2**31 - 1}" in caplog.text
    edge = {"cost": "9999999999.9999", "count": 2**31 - 1}
    fake_sms_activate.prices["187"]["tg"] = edge
    assert offers_sync(provider=provider).unreadable == 1
    tg_usa = Offer.objects.get(provider=provider, service__code="tg", country__sms_activate_id=187)
    assert (tg_usa.cost, tg_usa.stock) == (Decimal("9999999999.9999"), 2**31 - 1)


def test_balances_job_caches_every_enabled_provider(fake_sms_activate):
    from providers.selectors import provider_balance

    hero = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    off = ProviderFactory(
        protocol="sms_activate", base_url=fake_sms_activate.handler_url, enabled=False
    )
    assert not provider_balance(provider=hero).known

    tasks.balances_refresh_all()

    assert provider_balance(provider=hero).amount == Decimal("12.50")
    assert not provider_balance(provider=off).known
    fake_sms_activate.stop()
    tasks.balances_refresh_all()
    cached = provider_balance(provider=hero)
    assert cached.known and cached.amount is None


def test_offers_sync_tasks(fake_sms_activate):
    from smsbox.celery import app

    previous = app.conf.task_always_eager
    # The namespaced key: it is the one Celery reads first (see tests/rentals/conftest.py).
    app.conf.update(CELERY_TASK_ALWAYS_EAGER=True)
    try:
        provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
        ProviderFactory(enabled=False)
        tasks.offers_sync_all()
        assert Offer.objects.filter(provider=provider).count() == 3
        tasks.offers_sync(999999)  # gone: nothing happens
    finally:
        app.conf.update(CELERY_TASK_ALWAYS_EAGER=previous)


def test_offers_sync_task_retries_transient_errors(fake_sms_activate, monkeypatch):
    provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    fake_sms_activate.respond_always(text("ERROR_SQL"))
    retried = []

    def retry(*, exc, countdown):
        retried.append((type(exc), countdown))
        return RuntimeError("retry")

    monkeypatch.setattr(tasks.offers_sync, "retry", retry)
    with pytest.raises(RuntimeError):
        tasks.offers_sync(provider.pk)
    assert retried == [(Transient, 30)]


def test_test_connection(fake_sms_activate):
    provider = ProviderFactory(protocol="sms_activate", base_url=fake_sms_activate.handler_url)
    assert provider_test_connection(provider=provider) == Decimal("12.50")

    provider.api_key = "wrong"
    with pytest.raises(BadCredentials):
        provider_test_connection(provider=provider)


def test_sms_marks_the_purchase_attempt_once():
    offer = OfferFactory()
    attempt = PurchaseAttempt.objects.create(
        provider=offer.provider,
        service=offer.service,
        country=offer.country,
        outcome="bought",
        latency_ms=5,
        upstream_id="77",
    )

    upstream_sms_dispatch(
        provider=offer.provider, upstream_id="77", phone="1555", text="code 1234", code="1234"
    )
    attempt.refresh_from_db()
    first = attempt.sms_received_at
    assert first is not None
    assert not purchase_attempt_mark_sms(provider=offer.provider, upstream_id="77")
    attempt.refresh_from_db()
    assert attempt.sms_received_at == first


def test_simulator_seed_demo_is_idempotent():
    provider = simulator_seed_demo(sms_delay_seconds=5)
    offers = Offer.objects.filter(provider=provider).count()
    assert offers == 5 * Service.objects.filter(visible=True).count()
    assert provider.settings["sms_delay"] == 5

    again = simulator_seed_demo(sms_delay_seconds=None)

    assert again.pk == provider.pk and again.settings["sms_delay"] is None
    assert Offer.objects.filter(provider=provider).count() == offers
    assert PriceRule.objects.count() == 1
