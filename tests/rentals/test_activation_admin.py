"""The activations admin: search, filters, inline messages and ledger, actions via services."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from rentals.models import Activation
from rentals.services import activation_purchase
from tests.factories import StaffFactory, UserFactory
from tests.rentals.conftest import age, sms_arrives
from wallets.models import LedgerEntry
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
State = Activation.State
CHANGELIST = "admin:rentals_activation_changelist"


@pytest.fixture
def operator_client(client):
    operator = StaffFactory()
    client.force_login(operator)
    client.operator = operator
    return client


@pytest.fixture
def activation(customer, simulator, telegram, usa) -> Activation:
    return activation_purchase(user=customer, service=telegram, country=usa)


@pytest.mark.parametrize(
    "term",
    ["id", "display_number", "phone", "upstream_id", "email"],
)
def test_support_finds_an_activation_by_what_customers_quote(operator_client, activation, term):
    other = activation_purchase(
        user=activation.user, service=activation.service, country=activation.country
    )
    value = activation.user.email if term == "email" else str(getattr(activation, term))
    response = operator_client.get(reverse(CHANGELIST), {"q": value})
    assert response.status_code == 200
    shown = {a.pk for a in response.context["cl"].result_list}
    assert activation.pk in shown
    if term in ("display_number", "phone"):
        assert other.pk not in shown


def test_filters_and_a_search_that_is_no_number_work(operator_client, activation):
    url = reverse(CHANGELIST)
    assert operator_client.get(url, {"state": "waiting"}).status_code == 200
    by_provider = {"provider__id__exact": activation.provider_id}
    assert operator_client.get(url, by_provider).status_code == 200
    assert operator_client.get(url, {"q": "+1 555"}).status_code == 200


def test_the_detail_shows_messages_and_ledger_entries(operator_client, activation):
    sms_arrives(activation, "Your code is 424242")
    url = reverse("admin:rentals_activation_change", args=[activation.pk])
    response = operator_client.get(url)
    content = response.content.decode()
    assert response.status_code == 200
    assert "424242" in content and "charge" in content


def test_cancel_and_refund_runs_the_service_with_the_operator(operator_client, activation):
    response = operator_client.post(
        reverse(CHANGELIST),
        {"action": "cancel_and_refund", "_selected_action": [activation.pk]},
        follow=True,
    )
    assert response.status_code == 200
    activation.refresh_from_db()
    assert activation.state == State.CANCELLED  # operators are not held by the early window
    assert str(operator_client.operator.pk) in activation.memo
    assert wallet_for_user(user=activation.user).balance == Decimal("10.00")
    assert LedgerEntry.objects.get(kind="refund").actor == operator_client.operator


def test_cancel_and_refund_of_a_pending_purchase_records_the_operator(operator_client, activation):
    Activation.objects.filter(pk=activation.pk).update(state=State.UNKNOWN)
    operator_client.post(
        reverse(CHANGELIST),
        {"action": "cancel_and_refund", "_selected_action": [activation.pk]},
    )
    activation.refresh_from_db()
    assert activation.state == State.FAILED
    assert LedgerEntry.objects.get(kind="refund").actor == operator_client.operator


def test_a_customer_cancel_records_no_operator(activation):
    from rentals.services import activation_cancel

    age(activation, 200)
    activation_cancel(activation=activation, actor=activation.user)
    assert LedgerEntry.objects.get(kind="refund").actor is None


def test_cancel_and_refund_is_refused_after_an_sms(operator_client, activation):
    age(activation, 200)
    sms_arrives(activation, "code 123456")
    response = operator_client.post(
        reverse(CHANGELIST),
        {"action": "cancel_and_refund", "_selected_action": [activation.pk]},
        follow=True,
    )
    assert "cannot be cancelled" in response.content.decode()
    activation.refresh_from_db()
    assert activation.state == State.RECEIVED


def test_force_complete_closes_without_a_refund(operator_client, activation):
    operator_client.post(
        reverse(CHANGELIST),
        {"action": "force_complete", "_selected_action": [activation.pk]},
    )
    activation.refresh_from_db()
    assert activation.state == State.COMPLETED
    assert not LedgerEntry.objects.filter(kind="refund").exists()


def test_an_operator_who_may_only_view_cannot_run_the_actions(client, activation):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_activation"))
    client.force_login(viewer)
    response = client.post(
        reverse(CHANGELIST), {"action": "force_complete", "_selected_action": [activation.pk]}
    )
    assert response.status_code in (200, 302)
    activation.refresh_from_db()
    assert activation.state == State.WAITING
