from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from providers.models import Offer, Provider

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_the_simulator_with_stock():
    out = StringIO()

    call_command("seed_demo", "--sms-delay", "never", stdout=out)
    call_command("seed_demo", stdout=out)

    provider = Provider.objects.get(protocol="simulator")
    assert provider.settings["sms_delay"] == 5
    assert (
        Offer.objects.filter(provider=provider, stock__gt=0).values("country").distinct().count()
        == 5
    )
    assert "SMS never" in out.getvalue() and "SMS after 5 s" in out.getvalue()


def test_seed_demo_refuses_a_bad_delay():
    with pytest.raises(CommandError, match="sms-delay"):
        call_command("seed_demo", "--sms-delay", "soon", stdout=StringIO())
    assert not Provider.objects.exists()
