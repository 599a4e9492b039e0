"""Races on one key, with real threads and real PostgreSQL transactions."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from apikeys.errors import ApiKeyRevoked
from apikeys.models import ApiKey, ApiKeyEvent
from apikeys.selectors import _touch, api_key_authenticate
from apikeys.services import api_key_ensure, api_key_regenerate, api_key_revoke
from tests.factories import ApiKeyFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at once, each in its own thread and connection; answer results or errors."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_requests_write_last_used_at_once():
    api_key = ApiKeyFactory()
    # every request read the key before any of them wrote last_used_at
    copies = [ApiKey.objects.get(pk=api_key.pk) for _ in range(8)]

    written = _race(*[lambda copy=copy: _touch(copy) for copy in copies])

    assert written.count(True) == 1
    assert written.count(False) == 7


def test_revoke_racing_regenerate_leaves_no_working_key():
    api_key = ApiKeyFactory()
    old_raw = api_key.raw_key

    revoked, regenerated = _race(
        lambda: api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk)),
        lambda: api_key_regenerate(api_key=ApiKey.objects.get(pk=api_key.pk)),
    )

    assert isinstance(revoked, ApiKey)
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None
    assert api_key_authenticate(old_raw) is None
    if isinstance(regenerated, ApiKeyRevoked):  # the revoke went first
        actions = ["revoke", "create"]
    else:
        _, new_raw = regenerated
        assert api_key_authenticate(new_raw) is None
        actions = ["revoke", "regenerate", "create"]
    assert list(ApiKeyEvent.objects.values_list("action", flat=True)) == actions


def test_concurrent_installs_of_one_key_create_it_once():
    user = UserFactory()
    raw_key = "Seed" * 8

    results = _race(
        *[lambda: api_key_ensure(user=user, name="demo", raw_key=raw_key) for _ in range(4)]
    )

    assert all(isinstance(result, tuple) for result in results), results
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert len({api_key.pk for api_key, _ in results}) == 1
    assert ApiKey.objects.count() == 1
    assert ApiKeyEvent.objects.count() == 1
