"""The customer page and its actions, with the permission matrix of the roles."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apikeys.models import ApiKey
from smsbox.models import OperatorAction, OperatorNote, User
from tests.backoffice.conftest import bought, client_for
from tests.factories import ActivationFactory, ApiKeyFactory, WebhookDeliveryFactory
from wallets.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


def act(client, customer, name, **data):
    return client.post(reverse("backoffice:customer-action", args=[customer.pk, name]), data)


def test_the_page_shows_every_section(client, operator_of, customer, order):
    ApiKeyFactory(user=customer)
    WebhookDeliveryFactory(user=customer)
    response = client_for(client, operator_of("Support")).get(
        reverse("backoffice:customer", args=[customer.pk])
    )
    body = response.content.decode()
    assert response.status_code == 200
    for title in ["Account", "Open orders", "Latest orders", "Ledger", "API keys", "Webhook"]:
        assert title in body
    assert "47.50" in body  # balance after the 2.50 charge
    assert order.display_number in body
    assert ApiKey.objects.get(user=customer).prefix in body


# action → data, and which roles may run it
MATRIX = {
    "refund": ({"kind": "activation", "reason": "no code came"}, {"Support", "Finance", "Owner"}),
    "adjust": ({"amount": "5.00", "reason": "goodwill"}, {"Support", "Finance", "Owner"}),
    "block": ({"reason": "fraud report"}, {"Support", "Owner"}),
    "tier": ({"tier": "business", "reason": "contract"}, {"Finance", "Owner"}),
    "delete": ({"reason": "customer asked"}, {"Owner"}),
    "note": ({"text": "called about order"}, {"Support", "Finance", "Owner"}),
}


@pytest.mark.parametrize("role", ["Support", "Finance", "Owner", None])
@pytest.mark.parametrize("name", list(MATRIX))
def test_permission_matrix(client, operator_of, customer, order, role, name):
    data, allowed = MATRIX[name]
    data = {**data, "order_id": order.pk, "token": "6f1c3c8e-8a52-4b8e-9f43-4cdb4f9a1a11"}
    response = act(client_for(client, operator_of(role)), customer, name, **data)
    if role in allowed:
        assert response.status_code == 302
        assert OperatorAction.objects.filter(customer=customer).exists() or name == "delete"
    else:
        assert response.status_code == 403
        assert not OperatorAction.objects.exists()


def test_refund_with_reason_moves_money_once_and_is_audited(client, operator_of, customer, order):
    support = client_for(client, operator_of("Support"))
    act(support, customer, "refund", kind="activation", order_id=order.pk, reason="no code")
    second = act(support, customer, "refund", kind="activation", order_id=order.pk, reason="again")
    customer.wallet.refresh_from_db()
    assert customer.wallet.balance == Decimal("50.00")
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
    messages = [str(m) for m in second.wsgi_request._messages]
    assert any("already refunded" in m for m in messages)
    row = OperatorAction.objects.get(action="order.refund")
    assert (row.reason, row.before["state"], row.after["state"]) == (
        "no code",
        "waiting",
        "cancelled",
    )


def test_a_completed_activation_can_be_refunded_once(client, operator_of, customer):
    done = bought(customer, state="completed", price=Decimal("1.00"))
    done.sms_received_at = done.created_at
    done.save(update_fields=["sms_received_at"])
    finance = client_for(client, operator_of("Finance"))
    act(finance, customer, "refund", kind="activation", order_id=done.pk, reason="bad code")
    act(finance, customer, "refund", kind="activation", order_id=done.pk, reason="bad code")
    assert LedgerEntry.objects.filter(kind="refund", reference_id=str(done.pk)).count() == 1


def test_another_customers_order_is_404(client, operator_of, customer):
    stranger = ActivationFactory(user=User.objects.create_user("mallory@example.com", "pw"))
    response = act(
        client_for(client, operator_of("Support")),
        customer,
        "refund",
        kind="activation",
        order_id=stranger.pk,
        reason="x",
    )
    assert response.status_code == 404


def test_support_adjusts_up_to_its_limit_and_gets_403_above(
    client, operator_of, customer, settings
):
    settings.SMSBOX_SUPPORT_ADJUST_LIMIT = Decimal("20")
    support = client_for(client, operator_of("Support"))
    token = "11111111-2222-3333-4444-555555555555"
    assert (
        act(support, customer, "adjust", amount="20", reason="ok", token=token).status_code == 302
    )
    over = act(
        support, customer, "adjust", amount="20.01", reason="too much", token=token[:-1] + "6"
    )
    assert over.status_code == 403
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 1


def test_a_resubmitted_adjustment_moves_money_once(client, operator_of, customer):
    finance = client_for(client, operator_of("Finance"))
    token = "11111111-2222-3333-4444-555555555555"
    for _ in range(2):
        act(finance, customer, "adjust", amount="3", reason="refund by hand", token=token)
    assert LedgerEntry.objects.filter(kind="adjustment").count() == 1
    assert OperatorAction.objects.filter(action="balance.adjust").count() == 1


def test_block_and_unblock_are_audited_with_before_and_after(client, operator_of, customer):
    support = client_for(client, operator_of("Support"))
    act(support, customer, "block", reason="chargeback")
    customer.refresh_from_db()
    assert customer.blocked_at is not None and customer.block_reason == "chargeback"
    act(support, customer, "unblock", reason="resolved")
    customer.refresh_from_db()
    assert customer.blocked_at is None
    actions = list(OperatorAction.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["customer.block", "customer.unblock"]


def test_a_reason_is_required(client, operator_of, customer):
    act(client_for(client, operator_of("Support")), customer, "block", reason="  ")
    customer.refresh_from_db()
    assert customer.blocked_at is None


def test_tier_change_resend_and_note(client, operator_of, customer, mailoutbox):
    owner = client_for(client, operator_of("Owner"))
    act(owner, customer, "tier", tier="business", reason="contract")
    act(owner, customer, "tier", tier="platinum", reason="x")
    customer.refresh_from_db()
    assert customer.tier == "business"
    customer.is_verified = False
    customer.save(update_fields=["is_verified"])
    act(owner, customer, "resend-verification")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [customer.email]
    act(owner, customer, "note", text="VIP, call before blocking")
    assert OperatorNote.objects.get().text == "VIP, call before blocking"
    assert set(OperatorAction.objects.values_list("action", flat=True)) == {
        "customer.tier",
        "customer.resend_verification",
        "note.add",
    }


def test_deletion_goes_through_the_lifecycle(client, operator_of, customer):
    response = act(client_for(client, operator_of("Owner")), customer, "delete", reason="asked")
    assert response.status_code == 302
    assert not User.objects.filter(pk=customer.pk).exists()  # no orders: the row goes
    assert Wallet.objects.get().balance == 0  # forfeited; the ledger stays, unlinked
    row = OperatorAction.objects.get(action="customer.delete")
    assert (row.after["deleted"], row.target_label, row.reason) == (
        True,
        "alice@example.com",
        "asked",
    )


def test_deletion_of_a_customer_with_orders_anonymises(client, operator_of, customer, order):
    order.state = "completed"
    order.save(update_fields=["state"])
    act(client_for(client, operator_of("Owner")), customer, "delete", reason="asked")
    customer.refresh_from_db()
    assert customer.deleted_at is not None and not customer.is_active
    assert OperatorAction.objects.get(action="customer.delete").customer == customer


def test_a_block_stops_the_api_the_handler_and_the_dashboard_at_once(client, operator_of, customer):
    from django.test import Client

    key = ApiKeyFactory(user=customer)
    api, dashboard = Client(), Client()
    dashboard.force_login(customer)
    handler = f"/stubs/handler_api.php?api_key={key.raw_key}&action=getBalance"
    # given: the key checks are cached by a first request of each kind
    assert api.get("/api/v1/wallet/", HTTP_X_API_KEY=key.raw_key).status_code == 200
    assert api.get(handler).content.decode().startswith("ACCESS_BALANCE:")
    assert dashboard.get("/").status_code == 200
    # when: Support blocks the account
    act(client_for(client, operator_of("Support")), customer, "block", reason="chargeback")
    # then: the next request of each is refused with a clear answer
    response = api.get("/api/v1/wallet/", HTTP_X_API_KEY=key.raw_key)
    assert response.status_code == 403
    assert "blocked by an operator" in response.content.decode()
    assert api.get(handler).content.decode().startswith("BANNED:")
    page = dashboard.get("/")
    assert page.status_code == 403 and "blocked" in page.content.decode().lower()
