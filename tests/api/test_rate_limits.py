"""Per-account rate limits in Redis: 32 requests/s for standard accounts, none for business
ones, and a 60 s block after more than 300 failed requests in one second (seed 002)."""

import pytest
import time_machine
from django.test import Client, override_settings
from rest_framework.test import APIClient

from apikeys.throttling import failed_request_record, request_admit
from smsbox.models import User
from tests.api.conftest import assert_error
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db
MOMENT = 1_900_000_000.25  # one instant: every request below falls in the same second


def _client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ApiKeyFactory(user=user).raw_key)
    return client


def test_the_33rd_request_in_a_second_is_refused_for_a_standard_account():
    client = _client(UserFactory())
    with time_machine.travel(MOMENT, tick=False):
        statuses = [client.get("/api/v1/services/").status_code for _ in range(33)]
        assert statuses[:32] == [200] * 32
        response = client.get("/api/v1/services/")
    assert statuses[32] == 429
    assert_error(response, 429, "RATE_LIMITED")
    assert response["Retry-After"] == "1"
    with time_machine.travel(MOMENT + 1, tick=False):  # the next second starts afresh
        assert client.get("/api/v1/services/").status_code == 200


def test_a_business_account_has_no_request_limit():
    client = _client(UserFactory(tier=User.Tier.BUSINESS))
    with time_machine.travel(MOMENT, tick=False):
        statuses = {client.get("/api/v1/services/").status_code for _ in range(40)}
    assert statuses == {200}


@override_settings(SMSBOX_RATE_LIMIT_BUSINESS=5)
def test_the_business_limit_is_a_setting():
    client = _client(UserFactory(tier=User.Tier.BUSINESS))
    with time_machine.travel(MOMENT, tick=False):
        statuses = [client.get("/api/v1/services/").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_accounts_are_limited_separately():
    first, second = _client(UserFactory()), _client(UserFactory())
    with time_machine.travel(MOMENT, tick=False):
        for _ in range(33):
            first.get("/api/v1/services/")
        assert second.get("/api/v1/services/").status_code == 200


@override_settings(SMSBOX_FAILED_LIMIT=3, SMSBOX_FAILED_BLOCK_SECONDS=60)
def test_failed_requests_block_the_account_and_the_block_lifts():
    client = _client(UserFactory(tier=User.Tier.BUSINESS))  # any tier
    with time_machine.travel(MOMENT, tick=False):
        for _ in range(4):  # one more than the limit
            assert client.get("/api/v1/activations/404404/").status_code == 404
        blocked = client.get("/api/v1/services/")
    error = assert_error(blocked, 429, "ACCOUNT_BLOCKED")
    assert blocked["Retry-After"] == "60" and error["details"]["retry_after"] == 60
    with time_machine.travel(MOMENT + 30, tick=False):
        assert_error(client.get("/api/v1/services/"), 429, "ACCOUNT_BLOCKED")
    with time_machine.travel(MOMENT + 61, tick=False):
        assert client.get("/api/v1/services/").status_code == 200


@override_settings(SMSBOX_FAILED_LIMIT=3)
def test_failures_spread_over_seconds_do_not_block():
    client = _client(UserFactory())
    for second in range(4):
        with time_machine.travel(MOMENT + second, tick=False):
            for _ in range(3):
                client.get("/api/v1/activations/404404/")
    with time_machine.travel(MOMENT + 5, tick=False):
        assert client.get("/api/v1/services/").status_code == 200


def test_defaults_are_the_seed_figures(settings):
    assert settings.SMSBOX_RATE_LIMIT_STANDARD == 32
    assert settings.SMSBOX_RATE_LIMIT_BUSINESS is None
    assert settings.SMSBOX_FAILED_LIMIT == 300
    assert settings.SMSBOX_FAILED_BLOCK_SECONDS == 60


def test_the_counters_live_in_redis():
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    user = UserFactory()
    assert isinstance(caches["default"], RedisCache)
    client = caches["default"]._cache.get_client()
    request_admit(user=user, now=MOMENT)
    failed_request_record(user=user, now=MOMENT)
    assert client.get(f"rl:req:{user.pk}:{int(MOMENT)}") == b"1"
    assert client.get(f"rl:fail:{user.pk}:{int(MOMENT)}") == b"1"
    assert 0 < client.ttl(f"rl:req:{user.pk}:{int(MOMENT)}") <= 3


# --- the handler protocol answers with a protocol token ---------------------------------------


def _handler(raw_key: str, action: str = "getBalance", **params) -> str:
    response = Client().get(
        "/stubs/handler_api.php", {"api_key": raw_key, "action": action, **params}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_handler_answers_banned_when_rate_limited():
    key = ApiKeyFactory(user=UserFactory())
    with time_machine.travel(MOMENT, tick=False):
        answers = [_handler(key.raw_key) for _ in range(33)]
    assert answers[:32] == ["ACCESS_BALANCE:0.00"] * 32
    assert answers[32].startswith("BANNED:")


@override_settings(SMSBOX_FAILED_LIMIT=3)
def test_handler_error_tokens_count_as_failed_requests():
    key = ApiKeyFactory(user=UserFactory())
    with time_machine.travel(MOMENT, tick=False):
        for _ in range(4):
            assert _handler(key.raw_key, "getStatus", id="404404") == "NO_ACTIVATION"
        blocked = _handler(key.raw_key)
    assert blocked.startswith("BANNED:")
    with time_machine.travel(MOMENT + 61, tick=False):
        assert _handler(key.raw_key) == "ACCESS_BALANCE:0.00"
