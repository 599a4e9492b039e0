"""Catalog entries the provider tests buy from: Telegram, WhatsApp, the USA."""

import pytest

from providers.models import Country, Service


@pytest.fixture
def tg() -> Service:
    return Service.objects.get(code="tg")


@pytest.fixture
def wa() -> Service:
    return Service.objects.get(code="wa")


@pytest.fixture
def usa() -> Country:
    return Country.objects.get(sms_activate_id=187)
