"""The back office's support search finds a rental by its id, display number, phone (any
format) and upstream order id (its fixtures live beside the rentals' tests)."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse

from rentals.backoffice.roles import roles_sync
from rentals.models import Rental
from rentals.services.rentals import rental_purchase
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rental(renter, usa, rent_sim, rent_plans) -> Rental:
    return rental_purchase(user=renter, country=usa, hours=24)


@pytest.mark.parametrize("term", ["id", "display_number", "phone", "phone_formatted", "upstream"])
def test_the_support_search_goes_straight_to_a_rental(client, rental, term):
    if not Group.objects.filter(name="Support").exists():
        roles_sync(apps=apps)
    support = StaffFactory(is_superuser=False)
    support.groups.add(Group.objects.get(name="Support"))
    client.force_login(support)
    rental.refresh_from_db()
    typed = {
        "id": str(rental.pk),
        "display_number": rental.display_number.lower(),
        "phone": rental.phone,
        "phone_formatted": f"+{rental.phone[0]} ({rental.phone[1:4]}) {rental.phone[4:]}",
        "upstream": rental.upstream_id,
    }[term]
    response = client.get(reverse("backoffice:search"), {"q": typed})
    url = reverse("admin:rentals_rental_change", args=[rental.pk])
    assert response.status_code in (200, 302)
    assert response.get("Location") == url or f'href="{url}"' in response.content.decode()
