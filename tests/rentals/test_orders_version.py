"""My Numbers' version of the open orders (rentals.orders_version): kept in Redis, so that a poll
reads no row while nothing changed, and changed by every kind of write the list shows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rentals import selectors
from rentals.models import Activation
from rentals.orders_version import open_orders_changed, open_orders_current
from rentals.services import activation_cancel, activation_purchase, activations_expire_due
from rentals.services.rental_endings import rental_set_auto_renew
from rentals.services.rentals import rental_purchase
from smsbox.copies import copy_fill, copy_read
from tests.dashboard.conftest import shown_version
from tests.factories import UserFactory
from tests.rentals.conftest import age, sms_arrives
from tests.rentals.rental_support import sms_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def bought(customer, simulator, telegram, usa):
    return activation_purchase(user=customer, service=telegram, country=usa)


def test_the_version_is_the_digest_of_the_rows_read_once(
    customer, bought, django_assert_num_queries
):
    with django_assert_num_queries(1):
        first = open_orders_current(user=customer)
    assert first == selectors.open_orders_version(user=customer)
    with django_assert_num_queries(0):
        assert open_orders_current(user=customer) == first


def _sms(bought, **_):
    sms_arrives(bought, text="Your Telegram code is 424242")


def _cancel(bought, **_):
    activation_cancel(activation=age(bought, 300))


def _another_purchase(bought, *, customer, telegram, usa, **_):
    activation_purchase(user=customer, service=telegram, country=usa)


def _expiry(bought, **_):  # the sweep's plain SQL
    Activation.objects.filter(pk=bought.pk).update(expires_at=timezone.now() - timedelta(1))
    assert activations_expire_due() == 1


@pytest.mark.parametrize("write", [_sms, _cancel, _another_purchase, _expiry])
def test_every_write_of_an_activation_changes_the_version(write, customer, bought, telegram, usa):
    before = open_orders_current(user=customer)
    write(bought, customer=customer, telegram=telegram, usa=usa)
    after = open_orders_current(user=customer)
    assert after != before
    assert after == selectors.open_orders_version(user=customer)


def test_an_sms_to_a_rental_and_its_auto_renew_change_the_version(
    renter, usa, rent_sim, rent_plans
):
    rental = rental_purchase(user=renter, country=usa, hours=24)
    before = open_orders_current(user=renter)
    sms_to(rental, "Your code is 5555")
    after_sms = open_orders_current(user=renter)
    assert after_sms != before
    rental_set_auto_renew(rental=rental, enabled=not rental.auto_renew)
    assert open_orders_current(user=renter) not in (before, after_sms)


def test_another_customers_write_leaves_the_version_alone(customer, bought):
    other = UserFactory()
    before = open_orders_current(user=customer)
    open_orders_changed([other.pk])
    assert open_orders_current(user=customer) == before


def test_a_digest_read_before_a_write_is_never_kept(customer, bought):
    from rentals.orders_version import _keys

    stale = selectors.open_orders_version(user=customer)
    _, token = copy_read(*_keys(customer.pk))  # a poll read the token, then the rows ...
    sms_arrives(bought)  # ... a write dropped the copy meanwhile ...
    assert not copy_fill(*_keys(customer.pk), seen=token, value=stale, seconds=30)  # ... refused
    assert open_orders_current(user=customer) == selectors.open_orders_version(user=customer)


def test_a_change_while_the_list_renders_is_brought_by_the_next_poll(
    client, customer, bought, monkeypatch
):
    client.force_login(customer)
    rows = selectors.open_orders_for_user

    def rows_after_an_sms(*, user):
        sms_arrives(bought, text="Your Telegram code is 777777")  # commits during the render
        return rows(user=user)

    monkeypatch.setattr(selectors, "open_orders_for_user", rows_after_an_sms)
    page = client.get("/numbers/live/").content.decode()
    monkeypatch.undo()
    assert "777777" in page
    version = shown_version(page)
    # The page was rendered with the version read before its rows: the next poll renders again.
    assert client.get("/numbers/live/", {"v": version}).status_code == 200


def test_without_redis_each_poll_reads_the_digest(
    client, customer, bought, settings, django_assert_num_queries
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.force_login(customer)
    page = client.get("/numbers/live/").content.decode()
    version = shown_version(page)
    assert client.get("/numbers/live/", {"v": version}).status_code == 204
    sms_arrives(bought, text="Your Telegram code is 313131")
    changed = client.get("/numbers/live/", {"v": version})
    assert changed.status_code == 200
    assert "313131" in changed.content.decode()
