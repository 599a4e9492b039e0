from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apikeys.errors import ApiKeyNotFound
from apikeys.models import ApiKey
from apikeys.selectors import (
    _touch,
    api_key_authenticate,
    api_key_get_for_user,
    api_keys_for_user,
)
from apikeys.services import api_key_revoke
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db


def _updates_of_keys(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "apikeys_apikey"')]


def test_the_right_key_answers_and_brings_its_user():
    api_key = ApiKeyFactory()

    found = api_key_authenticate(api_key.raw_key)

    assert found == api_key
    assert found.user == api_key.user


@pytest.mark.parametrize(
    "wrong",
    [
        "",
        "short",
        "x" * 40,
        "x" * 40 + "!",
        "y" * 500,
    ],
)
def test_a_wrong_key_answers_nothing(wrong):
    ApiKeyFactory()

    assert api_key_authenticate(wrong) is None


def test_a_key_with_the_right_prefix_but_a_wrong_secret_answers_nothing():
    api_key = ApiKeyFactory()
    wrong = api_key.raw_key[:8] + ("A" if api_key.raw_key[8] != "A" else "B") + api_key.raw_key[9:]

    assert api_key_authenticate(wrong) is None


def test_keys_that_share_a_prefix_are_told_apart_by_digest():
    first = ApiKeyFactory(raw_key="SharedPf" + "1" * 32)
    second = ApiKeyFactory(raw_key="SharedPf" + "2" * 32)

    assert api_key_authenticate("SharedPf" + "1" * 32) == first
    assert api_key_authenticate("SharedPf" + "2" * 32) == second
    assert api_key_authenticate("SharedPf" + "3" * 32) is None


def test_a_revoked_key_answers_nothing():
    api_key = ApiKeyFactory()
    api_key_revoke(api_key=api_key)

    assert api_key_authenticate(api_key.raw_key) is None


def test_the_key_of_an_inactive_user_answers_nothing():
    api_key = ApiKeyFactory(user=UserFactory(is_active=False))

    assert api_key_authenticate(api_key.raw_key) is None


def test_a_known_key_is_checked_with_one_query(django_assert_num_queries):
    api_key = ApiKeyFactory()
    api_key_authenticate(api_key.raw_key)  # writes last_used_at
    cache.clear()

    with django_assert_num_queries(1) as queries:
        found = api_key_authenticate(api_key.raw_key)

    assert found == api_key
    assert "INNER JOIN" in queries[0]["sql"]  # the user comes with the key
    assert '"apikeys_apikey"."prefix" =' in queries[0]["sql"]


def test_a_checked_key_is_served_from_the_cache_until_revoked(django_assert_num_queries):
    from apikeys.services import api_key_revoke

    api_key = ApiKeyFactory()
    api_key_authenticate(api_key.raw_key)

    with django_assert_num_queries(0):
        assert api_key_authenticate(api_key.raw_key) == api_key
    api_key_revoke(api_key=api_key)
    assert api_key_authenticate(api_key.raw_key) is None


def _authenticate_at(moment, raw_key: str, *, times: int = 1) -> list[str]:
    """Authenticate ``times`` times at ``moment``; answer the UPDATEs of keys it made."""
    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as queries:
        for _ in range(times):
            assert api_key_authenticate(raw_key) is not None
    return _updates_of_keys(queries)


def test_last_used_at_is_written_once_a_minute_not_on_every_call():
    api_key = ApiKeyFactory()
    start = timezone.now()

    first = _authenticate_at(start, api_key.raw_key)
    within_a_minute = _authenticate_at(start + timedelta(seconds=30), api_key.raw_key, times=3)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == start
    after_a_minute = _authenticate_at(start + timedelta(seconds=61), api_key.raw_key)

    assert len(first) == 1
    assert within_a_minute == []
    assert len(after_a_minute) == 1
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == start + timedelta(seconds=61)


def test_last_used_at_is_not_rewritten_by_a_stale_copy():
    """Two requests that read the key before either wrote: only one UPDATE changes the row."""
    api_key = ApiKeyFactory()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api_key_authenticate(api_key.raw_key)

    with time_machine.travel(start + timedelta(seconds=5), tick=False):
        stale = ApiKey.objects.get(pk=api_key.pk)
        stale.last_used_at = None  # as read by a request that raced the first write
        _touch(stale)

    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == start


def test_keys_for_user_lists_the_live_keys_of_that_user_only():
    user = UserFactory()
    live = ApiKeyFactory(user=user)
    revoked = ApiKeyFactory(user=user)
    api_key_revoke(api_key=revoked)
    ApiKeyFactory()

    assert list(api_keys_for_user(user=user)) == [live]
    assert set(api_keys_for_user(user=user, include_revoked=True)) == {live, revoked}


def test_get_for_user_answers_the_owners_key():
    api_key = ApiKeyFactory()

    assert api_key_get_for_user(user=api_key.user, key_id=api_key.pk) == api_key
    assert api_key_get_for_user(user=api_key.user, key_id=str(api_key.pk)) == api_key


@pytest.mark.parametrize("key_id", ["other", "nonsense", "", None, 2**70, "-1"])
def test_get_for_user_answers_not_found_outside_the_owners_scope(key_id):
    api_key = ApiKeyFactory()
    if key_id == "other":
        key_id = api_key.pk

    with pytest.raises(ApiKeyNotFound):
        api_key_get_for_user(user=UserFactory(), key_id=key_id)


def test_deactivating_a_user_refuses_their_cached_key_at_once():
    api_key = ApiKeyFactory()
    assert api_key_authenticate(api_key.raw_key) == api_key  # now cached

    api_key.user.is_active = False
    api_key.user.save(update_fields=["is_active"])

    assert api_key_authenticate(api_key.raw_key) is None


def test_a_changed_user_is_read_afresh_by_the_next_check():
    api_key = ApiKeyFactory()
    api_key_authenticate(api_key.raw_key)  # now cached
    banned_until = timezone.now() + timedelta(days=1)

    api_key.user.banned_until = banned_until
    api_key.user.save(update_fields=["banned_until"])

    assert api_key_authenticate(api_key.raw_key).user.banned_until == banned_until


def test_deleting_a_user_refuses_their_cached_key_at_once():
    api_key = ApiKeyFactory()
    api_key_authenticate(api_key.raw_key)  # now cached

    api_key.user.delete()

    assert api_key_authenticate(api_key.raw_key) is None


def test_the_cached_check_keeps_no_password_hash(django_assert_num_queries):
    import pickle

    from smsbox.cache import raw_redis

    api_key = ApiKeyFactory()
    api_key_authenticate(api_key.raw_key)
    password_hash = api_key.user.password

    stored = raw_redis().get(f"apikey:auth:{api_key.digest}")
    with django_assert_num_queries(0):
        cached = api_key_authenticate(api_key.raw_key)

    assert password_hash.encode() not in stored
    assert cached.user == api_key.user
    assert "password" not in pickle.loads(stored).user.__dict__  # noqa: S301
    assert cached.user.check_password("correct horse battery staple")  # loaded on demand


def test_a_cached_check_answers_fresh_instances_each_time():
    from apikeys.selectors import api_key_from_cache
    from smsbox.cache import raw_redis

    api_key = ApiKeyFactory()
    api_key_authenticate(api_key.raw_key)
    stored = raw_redis().get(f"apikey:auth:{api_key.digest}")

    first = api_key_from_cache(stored)
    first.user.tier = "business"  # a request changing its copy ...
    first.last_used_at = None
    second = api_key_from_cache(stored)

    assert second is not first and second.user is not first.user
    assert second.user.tier == api_key.user.tier  # ... changes no other request's
    assert second.last_used_at is not None
    assert (second.pk, second.user_id, second.user.email) == (
        api_key.pk,
        api_key.user_id,
        api_key.user.email,
    )
