"""Redis stopped or paused under handler and REST traffic: selling goes on (no 5xx), the key
check reads PostgreSQL, the rate limit fails open and comes back by itself with Redis, tasks
wait in the outbox, /healthz says "degraded"."""

import time

import httpx
import pytest
from django.test import override_settings

from apikeys import throttling
from rentals.models import Activation
from smsbox.models import DeferredTask
from smsbox.outbox import deferred_tasks_flush

pytestmark = pytest.mark.django_db(transaction=True)

HANDLER = "/stubs/handler_api.php"


def handler(http: httpx.Client, key: str, action: str, **params) -> httpx.Response:
    return http.get(HANDLER, params={"api_key": key, "action": action, **params})


def traffic(shop, rounds: int = 3) -> list[tuple[str, httpx.Response]]:
    """What clients do all day: buy and poll through the handler and the REST API."""
    answers = []
    headers = {"X-API-Key": shop.key}
    with httpx.Client(base_url=shop.url, headers=headers, timeout=30) as http:
        for _ in range(rounds):
            bought = handler(http, shop.key, "getNumber", service="tg", country="187")
            answers.append(("getNumber", bought))
            activation_id = bought.text.split(":")[1] if bought.text.count(":") == 2 else "0"
            answers.append(("getStatus", handler(http, shop.key, "getStatus", id=activation_id)))
            answers.append(("getBalance", handler(http, shop.key, "getBalance")))
            body = {"service": "tg", "country": "187"}
            created = http.post("/api/v1/activations/", json=body)
            answers.append(("POST activations", created))
            if created.status_code == 201:
                rest_id = created.json()["id"]
                answers.append(("GET activation", http.get(f"/api/v1/activations/{rest_id}/")))
            answers.append(("GET wallet", http.get("/api/v1/wallet/")))
    return answers


def assert_all_served(answers: list[tuple[str, httpx.Response]]) -> None:
    failures = [
        (name, r.status_code, r.text[:120])
        for name, r in answers
        if r.status_code >= 400 or r.text.startswith(("ERROR_SQL", "BANNED"))
    ]
    assert failures == []
    handler_answers = {name: r.text for name, r in answers if r.request.url.path == HANDLER}
    assert handler_answers["getNumber"].startswith("ACCESS_NUMBER:")
    assert handler_answers["getStatus"] == "STATUS_WAIT_CODE"
    assert handler_answers["getBalance"].startswith("ACCESS_BALANCE:")


def burst(shop, count: int) -> list[httpx.Response]:
    with httpx.Client(base_url=shop.url, timeout=30) as http:
        return [handler(http, shop.key, "getBalance") for _ in range(count)]


def healthz(shop) -> httpx.Response:
    return httpx.get(f"{shop.url}/healthz", timeout=30)


def test_redis_stopped_during_traffic_costs_no_request_and_everything_resumes(own_redis, shop):
    # given: traffic with Redis up (the key check and activation copies are cached)
    assert_all_served(traffic(shop, rounds=1))
    assert healthz(shop).json() == {"status": "ok"}

    # when: Redis stops
    own_redis.stop()
    answers = traffic(shop)

    # then: every request was served; buys were charged and recorded in PostgreSQL
    assert_all_served(answers)
    assert Activation.objects.filter(user=shop.user, state="waiting").count() == 8
    response = healthz(shop)
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "redis": "down"}

    # and: the rate limit fails open, counted
    counted = throttling.unlimited_requests
    with override_settings(SMSBOX_RATE_LIMIT_STANDARD=5):
        answers = burst(shop, 30)
    assert [r.text for r in answers if not r.text.startswith("ACCESS_BALANCE:")] == []
    assert throttling.unlimited_requests >= counted + 30

    # when: Redis comes back (empty: it kept nothing), without any restart of smsbox
    own_redis.start()
    time.sleep(0.6)  # the back-off (SMSBOX_REDIS_RETRY_SECONDS) passes

    # then: the rate limit applies again, and the health check says so
    with override_settings(SMSBOX_RATE_LIMIT_STANDARD=5):
        answers = burst(shop, 30)
    refused = [r.text for r in answers if r.text.startswith("BANNED:")]
    assert len(refused) >= 10
    assert healthz(shop).json() == {"status": "ok"}
    assert_all_served(traffic(shop, rounds=1))


def test_a_task_the_broker_cannot_take_waits_in_the_outbox_until_it_is_back(own_redis, shop):
    # given: two activations (the upstream must be told when they end)
    no_wait = override_settings(SMSBOX_EARLY_CANCEL_SECONDS=0)
    with no_wait, httpx.Client(base_url=shop.url, timeout=30) as http:
        bought = [handler(http, shop.key, "getNumber", service="tg", country="187") for _ in "ab"]
        ids = [response.text.split(":")[1] for response in bought]
        own_redis.stop()

        # when: the customer cancels both while Redis (the broker) is down
        answers = [handler(http, shop.key, "setStatus", id=i, status="8") for i in ids]

    # then: answered, refunded, and the upstream's cancellations kept in the outbox
    assert [r.text for r in answers] == ["ACCESS_CANCEL", "ACCESS_CANCEL"]
    assert set(Activation.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        "cancelled"
    }
    deferred = list(DeferredTask.objects.values_list("task", "args"))
    assert sorted(deferred) == sorted(
        ("rentals.tasks.activation_upstream_close", [int(i), "cancel"]) for i in ids
    )

    # when: beat's flush runs while the broker is still down: nothing is lost
    assert deferred_tasks_flush() == 0
    assert DeferredTask.objects.count() == 2
    assert DeferredTask.objects.filter(attempts=1).count() == 1

    # when: the broker is back
    own_redis.start()
    time.sleep(0.6)
    assert deferred_tasks_flush() == 2

    # then: the tasks are on the broker's queue, the outbox is empty
    assert DeferredTask.objects.count() == 0
    assert own_redis.client().llen("celery") == 2


def test_redis_paused_costs_no_request_and_each_waits_at_most_the_timeout(own_redis, shop):
    assert_all_served(traffic(shop, rounds=1))

    own_redis.pause()
    try:
        started = time.monotonic()
        answers = traffic(shop, rounds=2)
        elapsed = time.monotonic() - started
    finally:
        own_redis.resume()

    assert_all_served(answers)
    print(f"{len(answers)} requests in {elapsed:.2f} s with Redis paused")
    # a paused Redis costs one timeout (0.3 s) per back-off (0.5 s), not one per call
    assert elapsed < 12
