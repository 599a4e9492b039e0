"""The signed-in user is read from a Redis copy of their row (smsbox.auth_backends): no query per
request, and every change of the user (a block, a new password, the end of other sessions, their
activity) is seen by the next request."""

import pickle

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client

from rentals.backoffice.actions import customer_block
from smsbox.auth_backends import UserBackend, _keys
from smsbox.copies import copy_fill, copy_read
from smsbox.models import User
from smsbox.services import user_record_activity, user_sessions_end_others
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return UserFactory(email="copy@example.com", is_verified=True)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_row_is_read_once_then_from_the_copy(customer, django_assert_num_queries):
    backend = UserBackend()
    with django_assert_num_queries(1):
        assert backend.get_user(customer.pk) == customer
    with django_assert_num_queries(0):
        again = backend.get_user(customer.pk)
    assert (again.email, again.password, again.created_at) == (
        customer.email,
        customer.password,
        customer.created_at,
    )


def test_a_block_applies_on_the_next_request(customer):
    client = signed_in(customer)
    assert client.get("/numbers/").status_code == 200  # the copy is made
    customer_block(actor=StaffFactory(), customer=customer, reason="chargeback")
    response = client.get("/numbers/")
    assert response.status_code == 403
    assert "chargeback" in response.content.decode()


def test_ending_other_sessions_applies_on_their_next_request(customer):
    other_device = signed_in(customer)
    assert other_device.get("/numbers/").status_code == 200
    user_sessions_end_others(user=customer)
    assert other_device.get("/numbers/").status_code == 302  # to the login page


def test_a_new_password_ends_the_sessions_made_with_the_old_one(customer):
    client = signed_in(customer)
    assert client.get("/numbers/").status_code == 200
    customer.set_password("another long password")
    customer.save()
    assert client.get("/numbers/").status_code == 302
    assert SESSION_KEY not in client.session


def test_a_recorded_activity_refreshes_the_copy(customer):
    backend = UserBackend()
    backend.get_user(customer.pk)
    assert user_record_activity(user=customer)
    assert backend.get_user(customer.pk).last_activity_at == customer.last_activity_at


def test_a_row_read_before_a_change_is_never_kept(customer):
    _, token = copy_read(*_keys(customer.pk))  # a request read the token, then the row ...
    stale = [getattr(customer, f.attname) for f in User._meta.concrete_fields]
    customer.is_active = False
    customer.save()  # ... the user changed meanwhile ...
    assert not copy_fill(*_keys(customer.pk), seen=token, value=pickle.dumps(stale), seconds=30)
    assert UserBackend().get_user(customer.pk) is None  # inactive: nobody


def test_without_redis_every_request_reads_the_row(customer, settings, django_assert_num_queries):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    backend = UserBackend()
    for _ in range(2):
        with django_assert_num_queries(1):
            assert backend.get_user(customer.pk) == customer


def test_a_tampered_session_id_is_nobody():
    assert UserBackend().get_user("not-a-number") is None
