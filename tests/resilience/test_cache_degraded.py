"""The Redis cache backend without Redis: an empty cache, a back-off so a dead Redis is not
asked on every call, the rate limit's fail-open (or closed) answer, the outbox."""

import pytest
from django.core.cache import cache, caches
from django.test import override_settings

from apikeys import throttling
from apikeys.authentication import api_key_check_admit
from smsbox import cache as smsbox_cache
from smsbox.cache import redis_down, redis_mark_up, redis_status
from smsbox.models import DeferredTask
from smsbox.outbox import task_enqueue
from tests.factories import ApiKeyFactory, UserFactory
from tests.resilience.conftest import _reset_broker_pools, free_port


@pytest.fixture
def dead_redis():
    """The cache and the broker on a port nobody listens on."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    caches = {
        "default": {
            "BACKEND": "smsbox.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
        }
    }
    with override_settings(
        CACHES=caches, REDIS_URL=url, CELERY_BROKER_URL=url, SMSBOX_REDIS_RETRY_SECONDS=60
    ):
        _reset_broker_pools()
        redis_mark_up()
        try:
            yield url
        finally:
            redis_mark_up()
    _reset_broker_pools()


def test_the_cache_answers_as_an_empty_one_and_backs_off(dead_redis, monkeypatch):
    assert cache.get("k", "default") == "default"
    assert redis_down()
    # within the back-off Redis is not tried at all
    tries = []
    monkeypatch.setattr(
        smsbox_cache.RedisCacheClient, "add", lambda *a, **k: tries.append(a) or None
    )
    monkeypatch.setattr(smsbox_cache, "redis_commands", lambda *a, **k: tries.append(a) or [None])
    assert cache.get("k") is None
    assert cache.add("k", 1) is True
    assert cache.set("k", 1) is None
    assert cache.delete("k") is False
    assert cache.get_many(["a", "b"]) == {}
    with pytest.raises(ValueError):
        cache.incr("k")
    assert tries == []
    assert redis_status() == "down"


def test_the_cache_tries_redis_again_after_the_back_off(dead_redis, monkeypatch):
    assert cache.get("k") is None and redis_down()
    redis_mark_up()  # the back-off is over
    back = caches["default"]._cache._serializer.dumps("back")
    monkeypatch.setattr(smsbox_cache, "redis_commands", lambda *a, **k: [back])
    assert cache.get("k") == "back"
    assert not redis_down()


@pytest.mark.django_db
def test_the_key_check_reads_postgresql_and_the_rate_limit_fails_open(dead_redis):
    api_key = ApiKeyFactory(user=UserFactory())
    counted = throttling.unlimited_requests

    admission = api_key_check_admit(api_key.raw_key)

    assert admission.api_key.pk == api_key.pk
    assert admission.refusal is None
    assert throttling.unlimited_requests == counted + 1


@pytest.mark.django_db
def test_the_rate_limit_may_fail_closed(dead_redis, settings):
    settings.SMSBOX_RATE_LIMIT_FAIL_CLOSED = True
    api_key = ApiKeyFactory(user=UserFactory())

    admission = api_key_check_admit(api_key.raw_key)

    assert admission.api_key.pk == api_key.pk
    assert admission.refusal is not None and admission.refusal.code == "RATE_LIMITED"


@pytest.mark.django_db
def test_a_task_the_broker_refuses_is_kept_in_the_outbox(dead_redis):
    from rentals.tasks import activation_upstream_close

    assert task_enqueue(activation_upstream_close, 41, "cancel") is False  # tried, refused
    assert task_enqueue(activation_upstream_close, 42, "finish", countdown=30) is False

    rows = list(DeferredTask.objects.values_list("task", "args", "eta"))
    assert [(task, args) for task, args, _ in rows] == [
        ("rentals.tasks.activation_upstream_close", [41, "cancel"]),
        ("rentals.tasks.activation_upstream_close", [42, "finish"]),
    ]
    assert rows[0][2] is None and rows[1][2] is not None
