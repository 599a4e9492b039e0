"""last_activity_at: written on dashboard use, at most once per interval per user."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from smsbox.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def user_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "smsbox_user"')]


def test_dashboard_use_writes_last_activity_once_per_interval(client, settings):
    settings.SMSBOX_ACTIVITY_WRITE_INTERVAL = 300
    user = UserFactory()
    client.force_login(user)  # logging in is activity too: start from a customer never seen
    User.objects.filter(pk=user.pk).update(last_activity_at=None)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        with CaptureQueriesContext(connection) as first:
            client.get("/")
        with CaptureQueriesContext(connection) as second:
            client.get("/")
    assert len(user_updates(first.captured_queries)) == 1
    assert user_updates(second.captured_queries) == []
    assert User.objects.get(pk=user.pk).last_activity_at == start

    with time_machine.travel(start + timedelta(seconds=301), tick=False):
        client.get("/")
    assert User.objects.get(pk=user.pk).last_activity_at == start + timedelta(seconds=301)


def test_anonymous_requests_write_nothing(client):
    with CaptureQueriesContext(connection) as queries:
        client.get("/accounts/login/")
    assert user_updates(queries.captured_queries) == []
