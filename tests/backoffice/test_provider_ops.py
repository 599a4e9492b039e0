"""Provider operations: the page shows each provider's state, and test / sync / disable /
enable run from it, each with its audit row."""

import pytest
from django.urls import reverse

from providers import breaker
from providers.models import Provider, PurchaseAttempt
from smsbox.models import OperatorAction
from tests.backoffice.conftest import client_for
from tests.factories import OfferFactory, ProviderFactory

pytestmark = pytest.mark.django_db
PAGE = reverse("backoffice:providers")


@pytest.fixture
def owner(client, operator_of):
    return client_for(client, operator_of("Owner"))


def run(client, provider, name):
    return client.post(reverse("backoffice:provider-action", args=[provider.pk, name]), follow=True)


def test_the_page_shows_breaker_last_error_offers_and_balance(owner, settings):
    settings.SMSBOX_BREAKER_FAILURES = 1
    offer = OfferFactory(provider=ProviderFactory(name="Hero"))
    PurchaseAttempt.objects.create(
        provider=offer.provider,
        service=offer.service,
        country=offer.country,
        outcome="error",
        latency_ms=5000,
        error="upstream said BAD_KEY",
    )
    breaker.breaker_record_failure(offer.provider.pk)
    body = owner.get(PAGE).content.decode()
    assert "Hero" in body and "upstream said BAD_KEY" in body
    assert '<span class="bo-flag-bad">open</span>' in body
    assert "not asked yet" in body
    assert "<td>1</td>" in body  # one offer


def test_test_connection_shows_the_balance_and_is_audited(owner):
    provider = ProviderFactory(name="Sim")
    response = run(owner, provider, "test")
    assert "Sim: connection works, balance" in response.content.decode()
    row = OperatorAction.objects.get(action="provider.test")
    assert row.target_id == str(provider.pk) and "balance" in row.after
    assert "not asked yet" not in owner.get(PAGE).content.decode()


def test_disable_and_enable_are_audited(owner):
    provider = ProviderFactory(name="Sim")
    assert "Sim: disabled." in run(owner, provider, "disable").content.decode()
    assert not Provider.objects.get(pk=provider.pk).enabled
    run(owner, provider, "enable")
    assert Provider.objects.get(pk=provider.pk).enabled
    actions = OperatorAction.objects.order_by("id").values_list("action", "before", "after")
    assert list(actions) == [
        ("provider.disable", {"enabled": True}, {"enabled": False}),
        ("provider.enable", {"enabled": False}, {"enabled": True}),
    ]


def test_sync_offers_is_audited(owner):
    provider = ProviderFactory(name="Sim")
    response = run(owner, provider, "sync")
    assert "offers synced" in response.content.decode()
    assert OperatorAction.objects.filter(
        action="provider.sync", target_id=str(provider.pk)
    ).exists()


def test_an_unknown_operation_is_refused(owner):
    provider = ProviderFactory(name="Sim")
    response = owner.post(reverse("backoffice:provider-action", args=[provider.pk, "explode"]))
    assert response.status_code == 403
    assert not OperatorAction.objects.exists()
