"""PostgreSQL connections terminated (``pg_terminate_backend`` from a second connection) while
handler and REST requests run: the REST API answers JSON (503 SERVICE_UNAVAILABLE with
Retry-After), the handler ERROR_SQL, never an HTML 500; purchases whose request died settle
once they are stale, and the ledger stays exact."""

import threading
import time
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from rentals.models import Activation
from rentals.services import activations_reconcile
from tests.resilience.test_redis_down import HANDLER, traffic

pytestmark = pytest.mark.django_db(transaction=True)

KILL_EVERY = 0.1  # seconds between two rounds of terminations
CLIENTS = 4


def _killer(stop: threading.Event, killed: list[int]) -> None:
    """Terminate every other backend of the test database, again and again."""
    db = connection.settings_dict
    conninfo = psycopg.conninfo.make_conninfo(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
    )
    with psycopg.connect(conninfo, autocommit=True) as admin:
        while not stop.is_set():
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'"
            ).fetchall()
            killed.append(sum(1 for (done,) in rows if done))
            time.sleep(KILL_EVERY)


def test_lost_connections_answer_json_503_on_the_api_and_error_sql_on_the_handler(shop, settings):
    # given: clients buying and polling through both interfaces, as fast as they can
    settings.SMSBOX_RATE_LIMIT_STANDARD = None
    answers, stop, killed = [], threading.Event(), []

    def client() -> None:
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            answers.extend(traffic(shop, rounds=1))

    clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
    killer = threading.Thread(target=_killer, args=(stop, killed))
    # when: their backends are terminated again and again
    killer.start()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    stop.set()
    killer.join()
    connection.close()  # this thread's connection was terminated too

    # then: no HTML, no 500; the REST API's failures are 503s with Retry-After
    assert sum(killed) > 0
    html = [(name, r.status_code) for name, r in answers if "html" in r.headers["content-type"]]
    assert html == []
    rest = [r for name, r in answers if r.request.url.path != HANDLER]
    statuses = {r.status_code for r in rest}
    assert statuses <= {200, 201, 503}, statuses
    unavailable = [r for r in rest if r.status_code == 503]
    for response in unavailable:
        assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        assert int(response.headers["Retry-After"]) > 0
    on_handler = [r for name, r in answers if r.request.url.path == HANDLER]
    assert {r.status_code for r in on_handler} == {200}
    errors = [r.text for r in on_handler if r.text == "ERROR_SQL"]
    # the faults were hit: some requests lost their database
    assert len(unavailable) + len(errors) > 0
    print(
        f"{len(answers)} requests, {sum(killed)} backends terminated, "
        f"{len(unavailable)} REST 503, {len(errors)} handler ERROR_SQL"
    )

    # when: reconciliation runs once the purchases left by dead requests are stale
    stale_after = settings.SMSBOX_PROCESSING_STALE_SECONDS
    stale = timezone.now() + timedelta(seconds=stale_after + 1)
    left = Activation.objects.filter(state__in=Activation.PENDING_STATES).count()
    activations_reconcile(now=stale, limit=1000)

    # then: every purchase is settled (delivered or refunded) and the ledger is exact
    print(f"{left} purchases left processing/unknown by dead requests, all settled")
    assert not Activation.objects.filter(state__in=Activation.PENDING_STATES).exists()
    call_command("check_ledger")
