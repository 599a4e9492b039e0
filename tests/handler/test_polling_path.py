"""The polling path of the handler protocol: once a key's check is cached, ``getStatus`` is one
Redis round trip (the key check, the rate limit and the activation's cached status together) and
no SQL; the first poll of an activation reads its row once and copies its status. Revoking the
key or reaching the rate limit still takes effect at once."""

from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apikeys.services import api_key_revoke
from providers.catalog import catalog_load
from tests.factories import ActivationFactory, OfferFactory
from tests.handler.conftest import fund
from tests.handler.redis_rounds import RedisRoundTrips

pytestmark = pytest.mark.django_db
MOMENT = 1_900_000_000.25  # one instant: every request below falls in the same second


@pytest.fixture
def activation(customer):
    return ActivationFactory(user=customer, state="received", code="123456")


def test_get_status_is_one_redis_round_trip_and_no_sql_once_cached(handler, activation):
    handler.text("getBalance")  # caches the key check
    with CaptureQueriesContext(connection) as queries, RedisRoundTrips() as redis:
        assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:123456"
    # The first poll: the key check round trip, one primary-key read, the copy stored.
    assert len(queries.captured_queries) == 1, queries.captured_queries
    sql = queries.captured_queries[0]["sql"]
    assert sql.startswith("SELECT") and "rentals_activation" in sql and "WHERE a.id = " in sql
    assert redis.count == 2
    with CaptureQueriesContext(connection) as queries, RedisRoundTrips() as redis:
        assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:123456"
    assert queries.captured_queries == []
    assert redis.count == 1


def test_another_customers_activation_is_still_unknown_on_the_cached_path(handler, db):
    other = ActivationFactory(state="received", code="123456")
    handler.text("getBalance")  # caches the check
    assert handler.text("getStatus", id=other.pk) == "NO_ACTIVATION"


def test_a_revoked_key_is_refused_at_once_after_cached_polls(handler, api_key, activation):
    for _ in range(3):
        assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:123456"
    api_key_revoke(api_key=api_key)
    assert handler.text("getStatus", id=activation.pk) == "BAD_KEY"


@override_settings(SMSBOX_RATE_LIMIT_STANDARD=3)
def test_the_rate_limit_counts_every_poll_on_the_cached_path(handler, activation):
    with time_machine.travel(MOMENT, tick=False):
        answers = [handler.text("getStatus", id=activation.pk) for _ in range(4)]
    assert answers[:3] == ["STATUS_OK:123456"] * 3
    assert answers[3].startswith("BANNED:")
    with time_machine.travel(MOMENT + 1, tick=False):  # the next second starts afresh
        assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:123456"


@override_settings(SMSBOX_FAILED_LIMIT=2, SMSBOX_FAILED_BLOCK_SECONDS=60)
def test_a_block_is_seen_on_the_cached_path(handler, activation):
    with time_machine.travel(MOMENT, tick=False):
        handler.text("getStatus", id=activation.pk)  # caches the check
        for _ in range(3):  # failed requests (no such activation) start a block
            assert handler.text("getStatus", id="424242") == "NO_ACTIVATION"
        assert handler.text("getStatus", id=activation.pk).startswith("BANNED:")
    with time_machine.travel(MOMENT + 61, tick=False):
        assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:123456"


def test_a_revoked_key_counts_nothing_for_its_account(handler, api_key, customer, activation):
    handler.text("getStatus", id=activation.pk)
    api_key_revoke(api_key=api_key)
    RedisRoundTrips.delete(f"rl:*:{customer.pk}:*")
    assert handler.text("getStatus", id=activation.pk) == "BAD_KEY"
    assert RedisRoundTrips.keys(f"rl:*:{customer.pk}:*") == []


def _reads_of(queries, table: str) -> int:
    return sum(
        1
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    )


def test_get_number_reads_the_offers_and_price_rules_once(handler, customer, offer):
    fund(customer, "10.00")
    handler.text("getBalance")  # caches the key check
    with CaptureQueriesContext(connection) as queries:
        answer = handler.text("getNumber", service="tg", country="187")
    assert answer.startswith("ACCESS_NUMBER:"), answer
    assert _reads_of(queries, "providers_offer") == 1
    assert _reads_of(queries, "providers_pricerule") == 1
    # The simulator draws its number without reading the whole catalog or every open number:
    # the statement that writes the sale asks about the pool's first candidates.
    assert _reads_of(queries, "providers_service") == 1  # the service parameter
    assert _reads_of(queries, "providers_simulatednumber") == 0
    draws = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("INSERT INTO providers_simulatednumber")
    ]
    assert len(draws) == 1 and "unnest(" in draws[0]


@pytest.fixture
def catalog(db):
    catalog_load()  # a transactional test before this one may have emptied the tables


@pytest.mark.django_db(transaction=True)
def test_get_number_reads_the_catalogs_version_with_the_key_check(
    catalog, handler, customer, monkeypatch
):
    """The purchase's catalog lookups (``providers.snapshot``) use the version read in the key
    check's round trip, not a round trip of their own; a change is still seen at the next one."""
    from providers import snapshot

    offer = OfferFactory(cost=Decimal("0.50"), stock=10)
    fund(customer, "10.00")
    handler.text("getBalance")  # caches the key check
    assert handler.text("getNumber", service="tg", country="187").startswith("ACCESS_NUMBER:")
    reads, read = [], snapshot._read_version
    monkeypatch.setattr(snapshot, "_read_version", lambda: reads.append(1) or read())
    with RedisRoundTrips() as redis:
        assert handler.text("getNumber", service="tg", country="187").startswith("ACCESS_NUMBER:")
    assert reads == [] and redis.count == 3  # the key check, the breaker, the copies' drop
    assert handler.text("getBalance") == "ACCESS_BALANCE:9.00"
    offer.cost = Decimal("0.70")
    offer.save()  # another process's change: the version moves
    assert handler.text("getNumber", service="tg", country="187").startswith("ACCESS_NUMBER:")
    assert handler.text("getBalance") == "ACCESS_BALANCE:8.30"
    assert reads == []
