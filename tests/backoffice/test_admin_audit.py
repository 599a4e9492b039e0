"""Every change an operator makes through the admin (providers, price rules, payment
processors, roles and group membership, API key revocation, order actions) leaves an audit row
with who, what and before → after, in the transaction of the change: both commit or neither."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from apikeys.models import ApiKey
from providers.models import PriceRule, Provider
from smsbox import admin_audit
from smsbox.models import OperatorAction
from tests.backoffice.conftest import bought, client_for
from tests.factories import ApiKeyFactory, ProviderFactory, StaffFactory
from wallets.models import PaymentProcessor

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(client, operator_of):
    operator = operator_of("Owner", email="owner@example.com")
    client_for(client, operator)
    return operator


def form_data(client, url: str, **changes) -> dict:
    """The admin form's current values as its page renders them, with ``changes`` applied."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(value, list | tuple):
            data[name] = [str(item) for item in value]
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value if isinstance(value, str) else str(value)
    data.update(changes)
    return {key: value for key, value in data.items() if value is not False}


def only_row(action: str) -> OperatorAction:
    rows = OperatorAction.objects.filter(action=action)
    assert rows.count() == 1, list(OperatorAction.objects.values_list("action", flat=True))
    return rows.get()


def test_a_provider_change_is_audited_with_its_credentials_masked(client, owner):
    provider = ProviderFactory(name="Hero", priority=10)
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    response = client.post(url, form_data(client, url, priority="3", enabled="", api_key="new"))
    assert response.status_code == 302
    row = only_row("provider.change")
    assert (row.actor, row.target_kind, row.target_id) == (
        owner,
        "providers.provider",
        str(provider.pk),
    )
    assert row.before["priority"] == 10 and row.after["priority"] == 3
    assert row.before["enabled"] is True and row.after["enabled"] is False
    assert row.before["api_key"] == row.after["api_key"] == "••••••"
    assert "upstream-secret" not in str(row.before) and "new" not in str(row.after)


def test_a_provider_change_and_its_audit_row_roll_back_together(client, owner, monkeypatch):
    provider = ProviderFactory(name="Hero", priority=10)
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    data = form_data(client, url, priority="3")

    def broken(**kwargs):
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr(admin_audit, "audit_record", broken)
    with pytest.raises(RuntimeError):
        client.post(url, data)
    provider.refresh_from_db()
    assert provider.priority == 10  # the change did not commit without its row


def test_a_failing_provider_save_leaves_no_audit_row(client, owner, monkeypatch):
    provider = ProviderFactory(name="Hero", priority=10)
    url = reverse("admin:providers_provider_change", args=[provider.pk])
    data = form_data(client, url, priority="3")
    real_save = Provider.save

    def save_then_fail(self, *args, **kwargs):
        real_save(self, *args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Provider, "save", save_then_fail)
    with pytest.raises(RuntimeError):
        client.post(url, data)
    assert not OperatorAction.objects.exists()
    assert Provider.objects.get(pk=provider.pk).priority == 10


def test_price_rules_added_and_changed_are_audited(client, owner):
    add = reverse("admin:providers_pricerule_add")
    response = client.post(add, form_data(client, add, percent="20", fixed="0.10", floor="0"))
    assert response.status_code == 302
    rule = PriceRule.objects.get()
    assert only_row("pricerule.add").after["percent"] == "20"
    change = reverse("admin:providers_pricerule_change", args=[rule.pk])
    assert client.post(change, form_data(client, change, percent="25")).status_code == 302
    row = only_row("pricerule.change")
    assert row.target_id == str(rule.pk)
    assert (Decimal(row.before["percent"]), Decimal(row.after["percent"])) == (20, 25)


def test_a_processor_change_is_audited_without_its_secrets(client, owner):
    processor = PaymentProcessor.objects.create(
        name="cryptomus",
        kind="cryptomus",
        base_url="http://127.0.0.1:9",
        merchant="m-1",
        api_key="processor-secret",
    )
    url = reverse("admin:wallets_paymentprocessor_change", args=[processor.pk])
    response = client.post(url, form_data(client, url, enabled="", merchant="m-2"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    row = only_row("paymentprocessor.change")
    assert (row.before["merchant"], row.after["merchant"]) == ("m-1", "m-2")
    assert (row.before["enabled"], row.after["enabled"]) == (True, False)
    assert "processor-secret" not in str(row.before) + str(row.after)


def test_a_role_permission_change_is_audited(client, owner):
    group = Group.objects.get(name="Support")
    url = reverse("admin:auth_group_change", args=[group.pk])
    permissions = form_data(client, url)["permissions"]
    refund = Permission.objects.get(codename="refund_order")
    assert str(refund.pk) in permissions
    remaining = [pk for pk in permissions if pk != str(refund.pk)]
    assert client.post(url, {"name": "Support", "permissions": remaining}).status_code == 302
    assert not group.permissions.filter(pk=refund.pk).exists()
    row = only_row("group.change")
    assert row.target_label == "Support"
    assert str(refund) in row.before["permissions"]
    assert str(refund) not in row.after["permissions"]


def test_adding_an_operator_to_a_role_is_audited(client, owner):
    staff = StaffFactory(is_superuser=False, email="new@example.com")
    finance = Group.objects.get(name="Finance")
    url = reverse("admin:smsbox_user_change", args=[staff.pk])
    response = client.post(url, form_data(client, url, groups=[str(finance.pk)]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(staff.groups.all()) == [finance]
    row = only_row("user.change")
    assert row.target_id == str(staff.pk)
    assert row.before["groups"] == [] and row.after["groups"] == ["Finance"]


def test_revoking_an_api_key_in_the_admin_is_audited(client, owner, customer):
    key = ApiKeyFactory(user=customer)
    response = client.post(
        reverse("admin:apikeys_apikey_changelist"),
        {"action": "revoke_keys", "_selected_action": [key.pk]},
    )
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    row = only_row("apikey.revoke")
    assert (row.actor, row.customer, row.before) == (owner, customer, {"revoked_at": None})
    assert row.after["revoked_at"] is not None


def test_a_customer_revoking_their_own_key_is_not_an_operator_action(customer):
    from apikeys.services import api_key_revoke

    api_key_revoke(api_key=ApiKeyFactory(user=customer), actor=customer)
    assert not OperatorAction.objects.exists()


def test_cancel_and_refund_from_the_activation_list_is_audited(client, owner, customer):
    activation = bought(customer, price=Decimal("2.50"), state="waiting")
    response = client.post(
        reverse("admin:rentals_activation_changelist"),
        {"action": "cancel_and_refund", "_selected_action": [activation.pk]},
    )
    assert response.status_code == 302
    row = only_row("activation.cancel_refund")
    assert row.before["state"] == "waiting"
    assert row.after["state"] != "waiting"
    assert row.customer == customer


def test_deleting_an_account_from_the_user_list_is_audited(client, owner, customer):
    response = client.post(
        reverse("admin:smsbox_user_changelist"),
        {"action": "delete_accounts", "_selected_action": [customer.pk]},
    )
    assert response.status_code == 302
    row = only_row("customer.delete")
    assert row.before == {"email": "alice@example.com"} and row.actor == owner
