import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apikeys.selectors import api_key_authenticate
from providers.models import Country, Service
from smsbox.models import User
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db

KEY = "ScriptKey0123456789abcdefghijklmnopqrs"


def seed(**options: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def test_run_twice_leaves_one_demo_customer_and_one_deposit():
    seed()
    seed()

    customer = User.objects.get(email="demo@example.com")
    deposits = LedgerEntry.objects.filter(wallet__user=customer, kind="deposit")
    assert deposits.count() == 1
    assert customer.wallet.balance == Decimal("100.00")
    assert User.objects.filter(is_superuser=True).count() == 1
    assert customer.api_keys.count() == 1
    assert Country.objects.filter(sms_activate_id=187, iso="US").exists()
    assert Service.objects.filter(code="tg").exists()


def test_another_email_adds_a_second_customer_beside_the_first():
    seed()
    seed(email="second@example.com", balance="5.50")

    assert User.objects.filter(is_staff=False).count() == 2
    second = User.objects.get(email="second@example.com")
    assert second.wallet.balance == Decimal("5.50")
    assert User.objects.get(email="demo@example.com").wallet.balance == Decimal("100.00")


def test_a_given_api_key_is_installed_exactly_and_kept():
    output = seed(api_key=KEY)
    seed(api_key=KEY)

    api_key = api_key_authenticate(KEY)
    assert api_key is not None
    assert api_key.user.email == "demo@example.com"
    assert api_key.user.api_keys.count() == 1
    assert KEY in output


def test_a_random_key_is_printed_once_and_works():
    output = seed()
    printed = next(line for line in output.splitlines() if line.startswith("api key: "))
    raw = printed.removeprefix("api key: ")

    assert api_key_authenticate(raw) is not None
    assert "existing key kept" in seed()


def test_the_operator_password_comes_from_the_environment(settings, client):
    settings.SMSBOX_ADMIN_PASSWORD = "operator-secret-42"

    seed()

    assert client.login(username="admin@example.com", password="operator-secret-42")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"balance": "lots"}, "--balance"),
        ({"balance": "1e30"}, "--balance"),
        ({"balance": "-5"}, "positive"),
        ({"email": ""}, "--email"),
        ({"email": "not an email"}, "--email"),
        ({"api_key": "short"}, "32"),
    ],
)
def test_bad_options_are_refused_with_a_clear_error(options, message):
    with pytest.raises(CommandError, match=message):
        seed(**options)
    assert not User.objects.filter(email="demo@example.com").exists()


def test_a_key_that_belongs_to_another_account_is_refused():
    seed(api_key=KEY)

    with pytest.raises(CommandError, match="already in use"):
        seed(email="other@example.com", api_key=KEY)
    assert not User.objects.filter(email="other@example.com").exists()
