from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.urls import reverse

from providers import tasks
from providers.models import Country, Offer, PriceRule, Provider, PurchaseAttempt, Service
from providers.services import provider_test_connection
from smsbox.models import JobRun
from tests.factories import OfferFactory, ProviderFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(StaffFactory())
    return client


def test_provider_list_shows_health_breaker_and_cached_balance(staff_client, fake_sms_activate):
    offer = OfferFactory(provider=ProviderFactory(name="Sim"))
    for sms in (True, False):
        PurchaseAttempt.objects.create(
            provider=offer.provider,
            service=offer.service,
            country=offer.country,
            outcome="bought",
            latency_ms=120,
            upstream_id="1",
            sms_received_at=offer.updated_at if sms else None,
        )
    hero = ProviderFactory(
        name="Hero", protocol="sms_activate", base_url=fake_sms_activate.handler_url
    )
    ProviderFactory(
        name="Dead", protocol="sms_activate", base_url="http://127.0.0.1:9/stubs/handler_api.php"
    )
    url = reverse("admin:providers_provider_changelist")

    # given nobody asked the upstreams yet: the page does not ask them either
    html = staff_client.get(url).content.decode()
    assert fake_sms_activate.requests == []
    assert "not checked" in html and "12.50" not in html

    # when the periodic job has run
    tasks.balances_refresh_all()

    page = staff_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "50% of 2" in html and "120 ms" in html
    assert "1000.00" in html  # the simulator's balance
    assert "12.50" in html  # the fake upstream's balance
    assert "unavailable" in html  # the dead one does not break the page
    assert "upstream-secret" not in html
    assert [r.params["action"] for r in fake_sms_activate.requests] == ["getBalance"]
    run = JobRun.objects.get(name="providers.balances_refresh_all")
    assert (run.status, run.rows) == (JobRun.Status.OK, 3)

    # and a page view after the job asks nobody
    staff_client.get(url)
    assert len(fake_sms_activate.requests) == 1
    cache.clear()
    provider_test_connection(provider=hero)
    assert "12.50" in staff_client.get(url).content.decode()


def test_view_only_staff_never_sees_the_credentials(client):
    viewer = StaffFactory(is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_provider"))
    client.force_login(viewer)
    provider = ProviderFactory(api_key="very-secret-key", base_url="https://up.example/h")

    page = client.get(reverse("admin:providers_provider_change", args=[provider.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert "https://up.example/h" in html  # the page is there, read-only
    assert "very-secret-key" not in html
    assert "Credentials" not in html


def test_credentials_are_write_only(staff_client):
    provider = ProviderFactory(api_key="very-secret-key")
    url = reverse("admin:providers_provider_change", args=[provider.pk])

    page = staff_client.get(url)
    assert page.status_code == 200
    assert "very-secret-key" not in page.content.decode()

    form = {
        "name": provider.name,
        "protocol": "simulator",
        "enabled": "on",
        "priority": "5",
        "timeout": "10",
        "base_url": "",
        "api_key": "",
        "extra_params": "{}",
        "service_codes": "{}",
        "country_codes": "{}",
        "settings": '{"sms_delay": null}',
    }
    assert staff_client.post(url, form).status_code == 302
    provider.refresh_from_db()
    assert (provider.api_key, provider.priority) == ("very-secret-key", 5)

    staff_client.post(url, {**form, "api_key": "new-key"})
    provider.refresh_from_db()
    assert provider.api_key == "new-key"


def test_actions_test_connection_and_sync_offers(staff_client, fake_sms_activate):
    good = ProviderFactory(
        name="Good", protocol="sms_activate", base_url=fake_sms_activate.handler_url
    )
    bad = ProviderFactory(
        name="Bad", protocol="sms_activate", base_url=fake_sms_activate.handler_url, api_key="x"
    )
    url = reverse("admin:providers_provider_changelist")

    page = staff_client.post(
        url, {"action": "test_connection", "_selected_action": [good.pk, bad.pk]}, follow=True
    )
    html = page.content.decode()
    assert "Good: connected, balance 12.50." in html
    assert "Bad: The upstream answered BAD_KEY." in html

    page = staff_client.post(
        url, {"action": "sync_offers_now", "_selected_action": [good.pk]}, follow=True
    )
    assert "Good: 3 offers synced" in page.content.decode()
    assert Offer.objects.filter(provider=good).count() == 3


def test_sync_action_skips_figures_too_big_to_store(staff_client, fake_sms_activate):
    provider = ProviderFactory(
        name="Odd", protocol="sms_activate", base_url=fake_sms_activate.handler_url
    )
    fake_sms_activate.prices["187"]["tg"] = {"cost": "1e15", "count": 3}
    fake_sms_activate.prices["0"]["tg"] = {"cost": "0.20", "count": 10**12}

    page = staff_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "sync_offers_now", "_selected_action": [provider.pk]},
        follow=True,
    )

    assert page.status_code == 200
    assert "Odd: 1 offers synced" in page.content.decode()
    assert "3 skipped (2 with unreadable figures, the others not in the catalog)" in (
        page.content.decode()
    )
    assert list(
        Offer.objects.filter(provider=provider).values_list("service__code", flat=True)
    ) == ["wa"]


def test_sync_action_turns_a_database_error_into_a_message(
    staff_client, fake_sms_activate, monkeypatch
):
    from django.db import DataError

    from providers import admin as providers_admin

    provider = ProviderFactory(
        name="Broken", protocol="sms_activate", base_url=fake_sms_activate.handler_url
    )

    def refuse(**kwargs):
        raise DataError("numeric field overflow")

    monkeypatch.setattr(providers_admin, "offers_sync", refuse)
    page = staff_client.post(
        reverse("admin:providers_provider_changelist"),
        {"action": "sync_offers_now", "_selected_action": [provider.pk]},
        follow=True,
    )

    assert page.status_code == 200
    assert "Broken: the offers could not be stored (DataError)." in page.content.decode()


def test_offer_list_filters_and_retail_column(staff_client):
    in_stock = OfferFactory(cost=Decimal("0.40"), stock=5)
    OfferFactory(cost=Decimal("0.30"), stock=0, service=Service.objects.get(code="wa"))
    PriceRule.objects.create(percent=Decimal("50"))
    url = reverse("admin:providers_offer_changelist")

    page = staff_client.get(url, {"in_stock": "yes"})
    assert page.status_code == 200
    assert "0.60" in page.content.decode()  # 0.40 + 50 %
    assert page.context["cl"].result_count == 1

    for query in (
        {"provider__id__exact": in_stock.provider_id},
        {"country__id__exact": in_stock.country_id, "in_stock": "yes"},
        {"service__id__exact": in_stock.service_id},
        {"q": "telegram"},
    ):
        page = staff_client.get(url, query)
        assert [o.pk for o in page.context["cl"].result_list] == [in_stock.pk], query
    assert staff_client.get(url, {"in_stock": "no"}).context["cl"].result_count == 1


def test_quote_preview(staff_client):
    offer = OfferFactory(cost=Decimal("0.40"), stock=5)
    OfferFactory(cost=Decimal("0.70"), stock=2)
    url = reverse("admin:providers_offer_quote")

    assert staff_client.get(url).status_code == 200
    page = staff_client.get(url, {"service": offer.service_id, "country": offer.country_id})

    html = page.content.decode()
    assert "A customer pays 0.40 now; 7 numbers in stock." in html
    assert html.index("0.40") < html.index("0.70")
    empty = staff_client.get(
        url, {"service": offer.service_id, "country": Country.objects.get(sms_activate_id=0).pk}
    )
    assert "Nothing in stock" in empty.content.decode()
    assert staff_client.get(url, {"service": "nope", "country": "x"}).status_code == 200


def test_quote_preview_needs_staff(client):
    assert client.get(reverse("admin:providers_offer_quote")).status_code == 302


def test_price_rules_are_added_in_the_admin(staff_client):
    url = reverse("admin:providers_pricerule_add")
    form = {
        "provider": "",
        "service": "",
        "country": "",
        "percent": "25",
        "fixed": "0.05",
        "floor": "0.30",
    }

    assert staff_client.post(url, form).status_code == 302
    page = staff_client.post(url, form)  # the same scope again is refused with a message

    assert page.status_code == 200
    assert PriceRule.objects.count() == 1
    bad = staff_client.post(
        url, {**form, "percent": "-100", "service": Service.objects.get(code="tg").pk}
    )
    assert bad.status_code == 200 and PriceRule.objects.count() == 1


def test_price_rule_admin_saves_through_the_service(staff_client, monkeypatch):
    from providers import admin as providers_admin
    from providers.services import price_rule_set

    calls = []

    def recording(**kwargs):
        calls.append(kwargs)
        return price_rule_set(**kwargs)

    monkeypatch.setattr(providers_admin, "price_rule_set", recording)
    tg = Service.objects.get(code="tg")
    form = {"provider": "", "service": tg.pk, "country": "", "percent": "25", "fixed": "0.05"}

    assert (
        staff_client.post(
            reverse("admin:providers_pricerule_add"), {**form, "floor": "0.30"}
        ).status_code
        == 302
    )
    rule = PriceRule.objects.get()
    change = reverse("admin:providers_pricerule_change", args=[rule.pk])
    other = Service.objects.get(code="wa").pk
    answer = staff_client.post(change, {**form, "service": other, "floor": "0.40"})

    assert answer.status_code == 302
    rule.refresh_from_db()
    assert (rule.service_id, rule.floor) == (tg.pk, Decimal("0.40"))  # the scope stays
    assert PriceRule.objects.count() == 1
    assert [(c["service"], c["floor"]) for c in calls] == [
        (tg, Decimal("0.30")),
        (tg, Decimal("0.40")),
    ]


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("country", "Germany"),
        ("country", "de"),
        ("country", "187"),
        ("service", "telegram"),
        ("operator", "mts"),
    ],
)
def test_catalog_search(staff_client, name, query):
    page = staff_client.get(reverse(f"admin:providers_{name}_changelist"), {"q": query})

    assert page.status_code == 200
    assert page.context["cl"].result_count >= 1


def test_attempts_are_read_only(staff_client):
    offer = OfferFactory()
    attempt = PurchaseAttempt.objects.create(
        provider=offer.provider,
        service=offer.service,
        country=offer.country,
        outcome="bought",
        latency_ms=1,
        upstream_id="abc",
    )

    page = staff_client.get(reverse("admin:providers_purchaseattempt_changelist"), {"q": "abc"})
    assert page.context["cl"].result_count == 1
    assert (
        staff_client.post(
            reverse("admin:providers_purchaseattempt_delete", args=[attempt.pk])
        ).status_code
        == 403
    )
    assert Provider.objects.count() == 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ('{"fail_no_numbers": 2}', "fail_no_numbers must be a share between 0 and 1."),
        ('{"fail_timeout": 0.6, "fail_transient": 0.6}', "cannot exceed 1"),
        ('{"sms_delay": "soon"}', "sms_delay must be a number of seconds"),
        ('{"countries": "RU"}', "countries must be a list"),
        ('{"cost": "cheap"}', "cost must be an amount."),
        ('{"sms_text": "{oops}"}', "sms_text may only use"),
        ("[1, 2]", "The settings must be a JSON object."),
    ],
)
def test_bad_simulator_settings_are_explained(staff_client, settings, message):
    form = {
        "name": "Sim",
        "protocol": "simulator",
        "enabled": "on",
        "priority": "5",
        "timeout": "10",
        "base_url": "",
        "api_key": "",
        "extra_params": "{}",
        "service_codes": "{}",
        "country_codes": "{}",
        "settings": settings,
    }

    page = staff_client.post(reverse("admin:providers_provider_add"), form)

    assert page.status_code == 200
    assert message in page.content.decode()
    assert not Provider.objects.exists()


def test_network_provider_needs_a_url_and_flat_mappings(staff_client):
    form = {
        "name": "Hero",
        "protocol": "sms_activate",
        "enabled": "on",
        "priority": "5",
        "timeout": "10",
        "base_url": "",
        "api_key": "k",
        "extra_params": '{"pool": {"deep": 1}}',
        "service_codes": "{}",
        "country_codes": "{}",
        "settings": "{}",
    }

    page = staff_client.post(reverse("admin:providers_provider_add"), form)

    html = page.content.decode()
    assert page.status_code == 200
    assert "A JSON object of names to plain values." in html
    assert not Provider.objects.exists()
