"""The rentals admin: search, messages and renewal history inline, actions through services;
plans edited by operators; seed_demo's plans make rentals work out of the box."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from providers.models import Country
from rentals.models import Rental, RentalPlan
from rentals.rental_selectors import rental_quote
from rentals.services.rentals import rental_purchase
from tests.factories import StaffFactory, UserFactory
from tests.rentals.rental_support import balance, fund, sms_to

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/rentals/rental/"


@pytest.fixture
def operator_client(client):
    operator = StaffFactory()
    client.force_login(operator)
    client.operator = operator
    return client


@pytest.fixture
def rental(renter, usa, rent_sim, rent_plans) -> Rental:
    return rental_purchase(user=renter, country=usa, hours=24)


def _act(client, action: str, rental: Rental):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [rental.pk]}, follow=True)


@pytest.mark.parametrize("term", ["phone", "id", "email", "display_number"])
def test_rentals_are_found_by_phone_id_customer_and_number(operator_client, rental, renter, term):
    query = {
        "phone": rental.phone,
        "id": str(rental.pk),
        "email": renter.email,
        "display_number": rental.display_number,
    }[term]

    response = operator_client.get(CHANGELIST, {"q": query})

    assert response.status_code == 200
    assert [r.pk for r in response.context["cl"].result_list] == [rental.pk]


def test_the_change_page_shows_messages_and_renewal_history(operator_client, rental):
    sms_to(rental, "Your Uber code is 0183.")

    response = operator_client.get(f"{CHANGELIST}{rental.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Your Uber code is 0183." in html
    assert "renewal history" in html.lower()
    assert "Purchase" in html


def test_extend_charged_and_free(operator_client, rental, renter):
    old_expiry = rental.expires_at

    _act(operator_client, "extend_charged", rental)
    _act(operator_client, "extend_free", rental)

    rental.refresh_from_db()
    assert rental.expires_at == old_expiry + timedelta(hours=48)
    assert balance(renter) == Decimal("94.00")  # 100 - 3 - 3, the free one cost nothing
    free = rental.renewals.get(period=3)
    assert (free.price, free.actor) == (Decimal("0"), operator_client.operator)


def test_toggle_auto_renew(operator_client, rental):
    _act(operator_client, "toggle_auto_renew", rental)

    rental.refresh_from_db()
    assert rental.auto_renew is False


def test_revoke_refunds_the_unused_share(operator_client, rental, renter):
    with time_machine.travel(rental.started_at + timedelta(hours=6), tick=False):
        response = _act(operator_client, "revoke", rental)

    assert "1 rentals revoked" in response.content.decode()
    rental.refresh_from_db()
    assert rental.state == Rental.State.REVOKED
    assert balance(renter) == Decimal("99.25")  # 3.00 paid, three quarters unused


def test_an_action_the_service_refuses_is_reported(operator_client, rental):
    Rental.objects.filter(pk=rental.pk).update(state=Rental.State.FINISHED)

    response = _act(operator_client, "revoke", rental)

    assert "already finished" in response.content.decode()


def test_operators_edit_plans_in_the_admin(operator_client, usa):
    response = operator_client.post(
        "/admin/rentals/rentalplan/add/",
        {"country": usa.pk, "unit": "days", "length": "3", "package": "", "price": "7.50",
         "active": "on"},
    )  # fmt: skip

    assert response.status_code == 302
    plan = RentalPlan.objects.get()
    assert (plan.unit, plan.length, plan.price, plan.service) == ("days", 3, Decimal("7.5"), None)
    assert operator_client.get("/admin/rentals/rentalplan/").status_code == 200


def test_seed_demo_plans_make_rentals_work_out_of_the_box(catalog):
    call_command("seed_demo", "--sms-delay", "never", stdout=io.StringIO())
    call_command("seed_demo", "--sms-delay", "never", stdout=io.StringIO())
    uk = Country.objects.get(sms_activate_id=16)
    customer = UserFactory()
    fund(customer, "50.00")

    assert RentalPlan.objects.filter(country=uk).count() == 8
    assert uk.rent is True
    assert rental_quote(country=uk, package="1y").price == Decimal("70.00")
    assert rental_quote(country=uk, hours=4).price == Decimal("1.00")
    rental = rental_purchase(user=customer, country=uk, package="1m")
    assert rental.state == Rental.State.ACTIVE and rental.phone.startswith("44")
