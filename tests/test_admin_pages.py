"""Every admin page renders for an operator; money is read-only; operator actions go through
the services with the operator as actor."""

import io
import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from smsbox.models import User
from tests.factories import StaffFactory, UserFactory
from wallets.models import LedgerEntry
from wallets.services import wallet_deposit, wallet_get_or_create

pytestmark = pytest.mark.django_db

DEMO_KEY = "DemoKey0123456789abcdefghijklmnopqrstuv"


@pytest.fixture
def operator():
    return StaffFactory()


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def demo_data():
    call_command("seed_demo", api_key=DEMO_KEY, balance="25.00", stdout=io.StringIO())


def admin_url(model, view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m._meta.label)
def test_every_changelist_and_change_form_renders(operator_client, operator, rf, demo_data, model):
    model_admin = admin.site._registry[model]

    changelist = operator_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200

    instance = model._default_manager.first()
    if instance is not None:
        change = operator_client.get(admin_url(model, "change", instance.pk))
        assert change.status_code == 200
    request = rf.get("/admin/")
    request.user = operator
    if model_admin.has_add_permission(request):
        assert operator_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize(
    "label",
    ["smsbox.User", "wallets.Wallet", "wallets.LedgerEntry", "apikeys.ApiKey", "providers.Country"],
)
def test_the_foundation_models_have_rows_to_render(demo_data, label):
    assert apps.get_model(label)._default_manager.exists()


def test_changelists_search_by_email(operator_client, demo_data):
    response = operator_client.get(admin_url(User, "changelist"), {"q": "demo@example.com"})

    assert b"demo@example.com" in response.content
    assert b"admin@example.com" not in response.content


def test_the_user_page_shows_the_wallet_summary_and_latest_entries(operator_client):
    customer = UserFactory()
    wallet_deposit(
        wallet=wallet_get_or_create(user=customer), amount=Decimal("12.34"), idempotency_key="p1"
    )
    response = operator_client.get(admin_url(User, "change", customer.pk))

    assert b"balance 12.3400" in response.content
    assert b"deposit:p1" not in response.content  # idempotency keys stay internal
    assert response.content.count(b"<td>deposit</td>") == 1


def test_adjust_balance_writes_an_entry_with_the_operator_as_actor(client):
    operator = StaffFactory()
    client.force_login(operator)
    customer = UserFactory()
    url = admin_url(User, "changelist")
    form = client.post(url, {"action": "adjust_balance", "_selected_action": [customer.pk]})
    assert form.status_code == 200  # the intermediate form
    assert b"Adjust balance" in form.content

    client.post(
        url,
        {
            "action": "adjust_balance",
            "_selected_action": [customer.pk],
            "apply": "1",
            "amount": "7.50",
            "reason": "goodwill credit",
            "token": str(uuid.uuid4()),
        },
    )

    entry = LedgerEntry.objects.get(wallet__user=customer)
    assert entry.kind == "adjustment"
    assert entry.amount == Decimal("7.50")
    assert entry.actor == operator
    assert entry.memo == "goodwill credit"


def test_adjust_balance_refuses_a_debit_beyond_the_balance(client):
    client.force_login(StaffFactory())
    customer = UserFactory()
    response = client.post(
        admin_url(User, "changelist"),
        {
            "action": "adjust_balance",
            "_selected_action": [customer.pk],
            "apply": "1",
            "amount": "-1",
            "reason": "correction",
            "token": str(uuid.uuid4()),
        },
        follow=True,
    )

    assert b"balance is too low" in response.content
    assert not LedgerEntry.objects.filter(wallet__user=customer).exists()


def test_ledger_rows_cannot_be_changed_or_deleted_through_the_admin(operator_client, demo_data):
    entry = LedgerEntry.objects.first()
    before = (entry.amount, entry.balance_after, entry.memo)

    change = operator_client.post(
        admin_url(LedgerEntry, "change", entry.pk), {"amount": "999", "memo": "edited"}
    )
    delete = operator_client.post(admin_url(LedgerEntry, "delete", entry.pk), {"post": "yes"})
    add = operator_client.get(admin_url(LedgerEntry, "add"))
    changelist = operator_client.get(admin_url(LedgerEntry, "changelist"))

    assert change.status_code == 403
    assert delete.status_code == 403
    assert add.status_code == 403
    assert b"delete_selected" not in changelist.content
    entry.refresh_from_db()
    assert (entry.amount, entry.balance_after, entry.memo) == before


def test_customers_cannot_open_the_admin(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302


def test_submitting_the_adjustment_form_twice_moves_the_money_once(client):
    client.force_login(StaffFactory())
    customer = UserFactory()
    url = admin_url(User, "changelist")
    form = client.post(url, {"action": "adjust_balance", "_selected_action": [customer.pk]})
    token = form.context["form"]["token"].value()
    submit = {
        "action": "adjust_balance",
        "_selected_action": [customer.pk],
        "apply": "1",
        "amount": "3.00",
        "reason": "goodwill",
        "token": token,
    }

    client.post(url, submit)
    client.post(url, submit)

    assert LedgerEntry.objects.filter(wallet__user=customer).count() == 1
    assert customer.wallet.entries.get().amount == Decimal("3.00")


def test_operators_delete_accounts_only_through_the_lifecycle(operator_client):
    customer = UserFactory()
    wallet_deposit(
        wallet=wallet_get_or_create(user=customer), amount=Decimal("4.00"), idempotency_key="p9"
    )
    wallet = customer.wallet

    delete_page = operator_client.get(admin_url(User, "delete", customer.pk))
    operator_client.post(
        admin_url(User, "changelist"),
        {"action": "delete_accounts", "_selected_action": [customer.pk]},
    )

    assert delete_page.status_code == 403
    assert not User.objects.filter(pk=customer.pk).exists()
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("0")
    assert wallet.entries.filter(kind="forfeit", amount=Decimal("-4.00")).exists()
    call_command("check_ledger", stdout=io.StringIO())
