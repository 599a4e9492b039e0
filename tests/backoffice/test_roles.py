"""Roles by actions: every back-office page and admin action, for Support, Finance, Owner and a
staff user without a role. A page a role may not open answers 403; an admin action it may not
run is not offered and changes nothing. An action "happens" when its effect is there (a
deletion the lifecycle keeps for later still counts as started: its audit row)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apikeys.models import ApiKey
from providers.models import PriceRule
from rentals.models import Activation
from smsbox.models import OperatorAction, User
from tests.backoffice.conftest import bought, client_for
from tests.factories import ApiKeyFactory, ProviderFactory
from wallets.adjustments import operator_adjust
from wallets.models import AdjustmentRequest, LedgerEntry, PaymentProcessor, TopUp
from wallets.services import wallet_get_or_create

pytestmark = pytest.mark.django_db

ROLES = ["Support", "Finance", "Owner", None]
SFO = {"Support", "Finance", "Owner"}


@dataclass
class World:
    customer: User
    activation: Activation
    top_up: TopUp
    api_key: ApiKey
    request: AdjustmentRequest
    provider_id: int
    rule: PriceRule


@pytest.fixture
def world(customer, operator_of, settings) -> World:
    settings.SMSBOX_FOUR_EYES_THRESHOLD = Decimal("100")
    processor = PaymentProcessor.objects.create(name="sandbox", kind="sandbox")
    top_up = TopUp.objects.create(
        wallet=wallet_get_or_create(user=customer),
        user=customer,
        processor=processor,
        amount="25.00",
        currency="USD",
        pay_currency="USDT",
        order_id="topup-1",
    )
    provider = ProviderFactory(name="Hero")
    request = operator_adjust(
        wallet=wallet_get_or_create(user=customer),
        amount=Decimal("500"),
        actor=operator_of("Finance", email="maker@example.com"),
        reason="wire",
        token="t-1",
    ).request
    return World(
        customer=customer,
        activation=bought(customer, price=Decimal("2.50"), state="waiting"),
        top_up=top_up,
        api_key=ApiKeyFactory(user=customer),
        request=request,
        provider_id=provider.pk,
        rule=PriceRule.objects.create(provider=provider, percent=Decimal("10")),
    )


# --- pages: (url, roles that may open it) ------------------------------------------------------
PAGES: dict[str, tuple[Callable[[World], str], set]] = {
    "support search": (lambda w: reverse("backoffice:search") + "?q=nobody", SFO),
    "customer page": (lambda w: reverse("backoffice:customer", args=[w.customer.pk]), SFO),
    "reports": (lambda w: reverse("backoffice:reports"), {"Finance", "Owner"}),
    "reports CSV": (
        lambda w: reverse("backoffice:reports-csv", args=["activity"]),
        {"Finance", "Owner"},
    ),
    "provider operations": (lambda w: reverse("backoffice:providers"), {"Owner"}),
    "audit log": (lambda w: reverse("admin:smsbox_operatoraction_changelist"), SFO),
    "customers": (lambda w: reverse("admin:smsbox_user_changelist"), SFO),
    "ledger": (lambda w: reverse("admin:wallets_ledgerentry_changelist"), SFO),
    "top-ups": (lambda w: reverse("admin:wallets_topup_changelist"), SFO),
    "activations": (lambda w: reverse("admin:rentals_activation_changelist"), SFO),
    "price rules": (lambda w: reverse("admin:providers_pricerule_changelist"), SFO),
    "processors (credentials hidden)": (
        lambda w: reverse("admin:wallets_paymentprocessor_changelist"),
        SFO,
    ),
    "providers (credentials)": (
        lambda w: reverse("admin:providers_provider_changelist"),
        {"Owner"},
    ),
    "roles": (lambda w: reverse("admin:auth_group_changelist"), {"Owner"}),
    "TOTP devices": (lambda w: reverse("admin:otp_totp_totpdevice_changelist"), {"Owner"}),
    "price rule change form": (
        lambda w: reverse("admin:providers_pricerule_change", args=[w.rule.pk]),
        SFO,  # Support and Finance see it read-only
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page_name", list(PAGES))
def test_who_opens_each_page(client, operator_of, world, role, page_name):
    url, allowed = PAGES[page_name]
    response = client_for(client, operator_of(role)).get(url(world))
    assert response.status_code == (200 if role in allowed else 403)


# --- actions: (POST it, did it happen?, roles that may run it) ---------------------------------
def admin_action(model: str, name: str, pk: int, **extra) -> tuple[str, dict]:
    url = reverse(f"admin:{model}_changelist")
    return url, {"action": name, "_selected_action": [pk], **extra}


def backoffice(customer: User, name: str, **data) -> tuple[str, dict]:
    return reverse("backoffice:customer-action", args=[customer.pk, name]), data


@dataclass(frozen=True)
class Action:
    post: Callable[[World], tuple[str, dict]]
    happened: Callable[[World], bool]
    allowed: set


def _state(w: World) -> str:
    return Activation.objects.get(pk=w.activation.pk).state


ACTIONS: dict[str, Action] = {
    "refund an order (customer page)": Action(
        lambda w: backoffice(
            w.customer, "refund", kind="activation", order_id=w.activation.pk, reason="no code"
        ),
        lambda w: _state(w) != "waiting",
        SFO,
    ),
    "cancel and refund (activation list)": Action(
        lambda w: admin_action("rentals_activation", "cancel_and_refund", w.activation.pk),
        lambda w: _state(w) != "waiting",
        SFO,
    ),
    "force complete (activation list)": Action(
        lambda w: admin_action("rentals_activation", "force_complete", w.activation.pk),
        lambda w: _state(w) == "completed",
        {"Owner"},
    ),
    "adjust within the Support limit": Action(
        lambda w: backoffice(
            w.customer, "adjust", amount="5.00", reason="goodwill", token=str(uuid.uuid4())
        ),
        lambda w: LedgerEntry.objects.filter(kind="adjustment").exists(),
        SFO,
    ),
    "adjust above the Support limit": Action(
        lambda w: backoffice(
            w.customer, "adjust", amount="50.00", reason="goodwill", token=str(uuid.uuid4())
        ),
        lambda w: LedgerEntry.objects.filter(kind="adjustment").exists(),
        {"Finance", "Owner"},
    ),
    "approve another's adjustment": Action(
        lambda w: backoffice(w.customer, "approve", request_id=w.request.pk),
        lambda w: AdjustmentRequest.objects.get(pk=w.request.pk).status == "approved",
        {"Finance", "Owner"},
    ),
    "approve (adjustment request list)": Action(
        lambda w: admin_action("wallets_adjustmentrequest", "approve", w.request.pk),
        lambda w: AdjustmentRequest.objects.get(pk=w.request.pk).status == "approved",
        {"Finance", "Owner"},
    ),
    "block": Action(
        lambda w: backoffice(w.customer, "block", reason="fraud"),
        lambda w: User.objects.get(pk=w.customer.pk).blocked_at is not None,
        {"Support", "Owner"},
    ),
    "change tier": Action(
        lambda w: backoffice(w.customer, "tier", tier="business", reason="contract"),
        lambda w: User.objects.get(pk=w.customer.pk).tier == "business",
        {"Finance", "Owner"},
    ),
    "start account deletion": Action(
        lambda w: backoffice(w.customer, "delete", reason="asked"),
        lambda w: OperatorAction.objects.filter(action="customer.delete").exists(),
        {"Owner"},
    ),
    "delete accounts (user list)": Action(
        lambda w: admin_action("smsbox_user", "delete_accounts", w.customer.pk),
        lambda w: OperatorAction.objects.filter(action="customer.delete").exists(),
        {"Owner"},
    ),
    "credit a top-up by hand": Action(
        lambda w: admin_action(
            "wallets_topup",
            "credit_manually",
            w.top_up.pk,
            apply="1",
            amount="5.00",
            reason="paid late",
            token=str(uuid.uuid4()),
        ),
        lambda w: TopUp.objects.get(pk=w.top_up.pk).amount_credited > 0,
        {"Finance", "Owner"},
    ),
    "revoke an API key": Action(
        lambda w: admin_action("apikeys_apikey", "revoke_keys", w.api_key.pk),
        lambda w: ApiKey.objects.get(pk=w.api_key.pk).revoked_at is not None,
        {"Owner"},
    ),
    "disable a provider": Action(
        lambda w: (reverse("backoffice:provider-action", args=[w.provider_id, "disable"]), {}),
        lambda w: not ProviderFactory._meta.model.objects.get(pk=w.provider_id).enabled,
        {"Owner"},
    ),
    "change a price rule": Action(
        lambda w: (
            reverse("admin:providers_pricerule_change", args=[w.rule.pk]),
            {"percent": "50", "fixed": "0", "floor": "0"},
        ),
        lambda w: PriceRule.objects.get(pk=w.rule.pk).percent == 50,
        {"Owner"},
    ),
    "change a role's permissions": Action(
        lambda w: (
            reverse("admin:auth_group_change", args=[Group.objects.get(name="Support").pk]),
            {"name": "Support", "permissions": []},
        ),
        lambda w: not Group.objects.get(name="Support").permissions.exists(),
        {"Owner"},
    ),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", list(ACTIONS))
def test_who_runs_each_action(client, operator_of, world, role, name):
    action = ACTIONS[name]
    url, data = action.post(world)
    response = client_for(client, operator_of(role)).post(url, data)
    if role in action.allowed:
        assert response.status_code == 302
        assert action.happened(world), response
    else:
        # a page: 403; an admin action not offered: the list again, "no action selected"
        assert response.status_code in (200, 302, 403)
        assert not action.happened(world)
