"""The REST activation detail on the polling path: once a key's check is cached it is one Redis
round trip (the key check, the rate limit and the activation's cached copy together) and no SQL;
the first read of an activation is one query, whose row is copied. Revoking the key or reaching
the rate limit still takes effect at once, and a dashboard request without a session cookie
costs no session or user lookup."""

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apikeys.services import api_key_revoke
from tests.api.conftest import assert_error
from tests.factories import ActivationFactory
from tests.handler.redis_rounds import RedisRoundTrips

pytestmark = pytest.mark.django_db
MOMENT = 1_900_000_000.25


@pytest.fixture
def activation(customer):
    return ActivationFactory(user=customer, state="received", code="123456")


def test_detail_is_one_redis_round_trip_and_no_sql_once_cached(client, activation):
    client.get("/api/v1/wallet/")  # caches the key check
    with CaptureQueriesContext(connection) as queries, RedisRoundTrips() as redis:
        first = client.get(f"/api/v1/activations/{activation.pk}/")
    assert first.status_code == 200
    assert len(queries.captured_queries) == 1, queries.captured_queries
    assert "rentals_activation" in queries.captured_queries[0]["sql"]
    assert redis.count == 2  # the key check with the (missing) copy, then the copy stored
    with CaptureQueriesContext(connection) as queries, RedisRoundTrips() as redis:
        response = client.get(f"/api/v1/activations/{activation.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body == first.json()
    assert body["id"] == activation.pk and body["latestCode"] == "123456"
    assert body["service"] == "tg" and body["country"] == 187
    assert body["displayNumber"] == activation.display_number
    assert queries.captured_queries == []
    assert redis.count == 1


def test_detail_by_display_number_is_one_query_too(client, activation):
    client.get(f"/api/v1/activations/{activation.pk}/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/activations/{activation.display_number.lower()}/")
    assert response.status_code == 200 and response.json()["id"] == activation.pk
    assert len(queries.captured_queries) == 1


def test_the_detail_of_anothers_activation_is_not_found_on_the_cached_path(client, activation):
    other = ActivationFactory()
    client.get(f"/api/v1/activations/{activation.pk}/")
    assert_error(client.get(f"/api/v1/activations/{other.pk}/"), 404, "NO_ACTIVATION")


def test_a_revoked_key_is_refused_at_once_after_cached_reads(client, api_key, activation):
    for _ in range(3):
        assert client.get(f"/api/v1/activations/{activation.pk}/").status_code == 200
    api_key_revoke(api_key=api_key)
    assert_error(client.get(f"/api/v1/activations/{activation.pk}/"), 401, "AUTHENTICATION_FAILED")


@override_settings(SMSBOX_RATE_LIMIT_STANDARD=3)
def test_the_rate_limit_counts_every_read_on_the_cached_path(client, activation):
    url = f"/api/v1/activations/{activation.pk}/"
    with time_machine.travel(MOMENT, tick=False):
        statuses = [client.get(url).status_code for _ in range(3)]
        refused = client.get(url)
    assert statuses == [200] * 3
    assert_error(refused, 429, "RATE_LIMITED")
    with time_machine.travel(MOMENT + 1, tick=False):
        assert client.get(url).status_code == 200


def test_a_request_without_a_session_cookie_makes_no_query(anonymous):
    with CaptureQueriesContext(connection) as queries:
        assert anonymous.get("/healthz/ping").status_code == 200
        assert anonymous.get("/accounts/login/").status_code == 200
    assert queries.captured_queries == []
