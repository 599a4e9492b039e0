"""The raw key is shown once and stored nowhere: not in the key tables, not in the audit rows,
not in the user or session tables, not anywhere else in the database."""

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.services import api_key_create, api_key_regenerate, api_key_revoke
from tests.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


class Ping(APIView):
    def get(self, request):
        return Response({"key": request.auth.pk})


urlpatterns = [path("admin/", admin.site.urls), path("ping", Ping.as_view())]


def _tables_holding(needle: str) -> set[str]:
    """Every table with a column whose text holds ``needle``."""
    found = set()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - names from introspection
            for row in cursor.fetchall():
                if any(needle in _text(value) for value in row):
                    found.add(table)
    return found


def _cache_holds(needle: str) -> bool:
    """Whether any key name or value in the cache's Redis database holds ``needle``."""
    redis = cache._cache.get_client()
    readers = {
        b"string": lambda k: [redis.get(k)],
        b"hash": lambda k: [*redis.hgetall(k).keys(), *redis.hgetall(k).values()],
        b"list": lambda k: redis.lrange(k, 0, -1),
        b"set": lambda k: list(redis.smembers(k)),
        b"zset": lambda k: redis.zrange(k, 0, -1),
    }
    for name in redis.scan_iter():
        values = [name, *readers.get(redis.type(name), lambda k: [])(name)]
        if any(needle.encode() in bytes(value or b"") for value in values):
            return True
    return False


def _text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("latin-1")
    return "" if value is None else str(value)


def test_the_raw_key_is_stored_nowhere(client):
    # given a key that was created, used through the API and shown in the admin
    user, operator = UserFactory(), StaffFactory()
    api_key, raw_key = api_key_create(user=user, name="scripts")
    assert client.get("/ping", headers={"X-API-Key": raw_key}).status_code == 200
    assert client.get("/ping", {"api_key": raw_key}).status_code == 200
    client.force_login(operator)
    assert client.get(f"/admin/apikeys/apikey/{api_key.pk}/change/").status_code == 200

    # then the database holds its prefix and digest (so the scan does look) but not the key
    assert {"apikeys_apikey"} <= _tables_holding(api_key.prefix)
    assert "apikeys_apikey" in _tables_holding(api_key.digest)
    assert _tables_holding(raw_key) == set()
    assert _tables_holding(raw_key[8:]) == set()  # nor its secret part
    # nor does the cache, which does hold the key's check
    assert _cache_holds(api_key.digest)
    assert not _cache_holds(raw_key[8:])


def test_a_regenerated_and_a_revoked_key_are_stored_nowhere():
    user, operator = UserFactory(), StaffFactory()
    api_key, first_raw = api_key_create(user=user, name="scripts", actor=operator)
    _, second_raw = api_key_regenerate(api_key=api_key, actor=operator)
    api_key_revoke(api_key=api_key, actor=operator)
    _, installed_raw = api_key_create(user=user, name="demo", raw_key="Chosen" * 6)

    for raw_key in (first_raw, second_raw, installed_raw):
        assert _tables_holding(raw_key) == set()
    assert "apikeys_apikeyevent" in _tables_holding(str(operator.pk))  # the scan sees events
