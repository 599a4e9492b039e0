"""SMS intake: the provider push endpoint and the poller feed the one SMS path, deduplicated."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from providers.adapters import UpstreamStatus
from providers.adapters.simulator import SimulatorAdapter
from providers.models import SimulatedNumber
from rentals.models import Activation, SmsMessage, WebhookDelivery
from rentals.services import (
    activation_purchase,
    activation_request_another_code,
    activations_poll,
)

pytestmark = pytest.mark.django_db
State = Activation.State
SECRET = "push-secret-0123456789"


@pytest.fixture
def activation(customer, simulator, telegram, usa) -> Activation:
    simulator.settings = {**simulator.settings, "push_secret": SECRET}
    simulator.save(update_fields=["settings"])
    return activation_purchase(user=customer, service=telegram, country=usa)


def push(client, activation, body, *, secret=SECRET, content_type="application/json"):
    headers = {"HTTP_X_PUSH_SECRET": secret} if secret is not None else {}
    data = json.dumps(body) if content_type == "application/json" else urlencode(body)
    return client.post(
        f"/providers/{activation.provider_id}/push", data, content_type=content_type, **headers
    )


def body(activation, **extra):
    return {
        "upstream_id": activation.upstream_id,
        "text": "Your Telegram code is 246810",
        "message_id": "up-1",
        **extra,
    }


# --- push -------------------------------------------------------------------------------------


def test_a_pushed_sms_reaches_the_activation(client, activation):
    response = push(client, activation, body(activation, received_at="2026-11-22 06:00:00"))
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    activation.refresh_from_db()
    assert (activation.state, activation.code) == (State.RECEIVED, "246810")
    message = SmsMessage.objects.get()
    assert message.received_at.isoformat() == "2026-11-22T06:00:00+00:00"


def test_a_form_push_with_sms_activate_names_is_accepted(client, activation):
    form = {"activationId": activation.upstream_id, "text": "code 9911", "messageId": "f-1"}
    response = push(client, activation, form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    activation.refresh_from_db()
    assert activation.code == "9911"


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
def test_a_push_without_the_right_secret_is_refused(client, activation, secret):
    response = push(client, activation, body(activation), secret=secret)
    assert response.status_code == 403
    assert response.json()["code"] == "BAD_KEY"
    assert not SmsMessage.objects.exists()


def test_a_provider_without_a_push_secret_accepts_no_push(client, activation):
    activation.provider.settings = {"sms_delay": None}
    activation.provider.save(update_fields=["settings"])
    assert push(client, activation, body(activation), secret="").status_code == 403


@pytest.mark.parametrize(
    "payload",
    [{"text": "code 1234"}, {"upstream_id": "1"}, {"upstream_id": "1", "text": "x", "date": "no"}],
)
def test_a_push_missing_what_it_needs_is_a_400(client, activation, payload):
    response = push(client, activation, payload)
    assert response.status_code == 400
    assert response.json()["status"] == "error"


def test_a_push_that_is_not_json_is_a_400(client, activation):
    response = client.post(
        f"/providers/{activation.provider_id}/push",
        "{not json",
        content_type="application/json",
        HTTP_X_PUSH_SECRET=SECRET,
    )
    assert response.status_code == 400


def test_push_to_an_unknown_provider_is_a_404_and_get_is_refused(client, activation):
    assert client.post("/providers/999999/push", {}).status_code == 404
    assert client.get(f"/providers/{activation.provider_id}/push").status_code == 405


@pytest.mark.parametrize("field", ["upstream_id", "text", "message_id"])
def test_a_push_with_a_nul_character_is_a_400(client, activation, field):
    payload = body(activation)
    payload[field] = payload[field] + "\u0000"
    response = push(client, activation, payload)
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"
    assert not SmsMessage.objects.exists()


def test_a_push_the_database_refuses_is_a_400(client, activation, monkeypatch):
    from django.db import DataError

    import providers.push

    def refuse(**kwargs):
        raise DataError("value out of range")

    monkeypatch.setattr(providers.push, "upstream_sms_dispatch", refuse)
    response = push(client, activation, body(activation))
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_INPUT"


def test_a_push_to_an_enormous_provider_id_is_a_404(client, activation):
    response = client.post(
        "/providers/99999999999999999999999/push", "{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_a_message_pushed_and_polled_is_stored_once(client, activation, monkeypatch):
    push(client, activation, body(activation))

    def status(self, *, upstream_id):
        from providers.adapters import UpstreamMessage

        message = UpstreamMessage(text="Your Telegram code is 246810", upstream_message_id="up-1")
        return UpstreamStatus(state="received", code="246810", messages=[message])

    Activation.objects.filter(pk=activation.pk).update(state=State.WAITING)
    monkeypatch.setattr(SimulatorAdapter, "status", status)
    assert activations_poll() == 1
    assert SmsMessage.objects.count() == 1


# --- polling ----------------------------------------------------------------------------------


def test_polling_picks_up_an_sms_the_upstream_holds(activation):
    # given: the upstream has the SMS due (its own delivery task was lost)
    SimulatedNumber.objects.filter(pk=activation.upstream_id).update(sms_due_at=timezone.now())
    # when
    assert activations_poll() == 1
    # then: delivered once, although the simulator also sends it when asked
    activation.refresh_from_db()
    assert activation.state == State.RECEIVED
    assert activation.code == SimulatedNumber.objects.get(pk=activation.upstream_id).code
    assert SmsMessage.objects.filter(activation=activation).count() == 1
    assert activations_poll() == 0  # nothing waits any more


def test_polling_an_upstream_that_gives_only_a_code_stores_it_once(activation, monkeypatch):
    def status(self, *, upstream_id):
        return UpstreamStatus(state="received", code="5555")

    monkeypatch.setattr(SimulatorAdapter, "status", status)
    activations_poll()
    Activation.objects.filter(pk=activation.pk).update(state=State.WAITING, polled_at=None)
    activations_poll()
    activation.refresh_from_db()
    assert activation.code == "5555"
    assert SmsMessage.objects.count() == 1


def test_polling_skips_an_upstream_that_fails(activation, monkeypatch):
    from providers.adapters import Transient

    def status(self, *, upstream_id):
        raise Transient("down")

    monkeypatch.setattr(SimulatorAdapter, "status", status)
    assert activations_poll() == 1
    activation.refresh_from_db()
    assert activation.state == State.WAITING


# --- duplicates: a push without a message id, polls, resend ------------------------------------


def upstream_says(monkeypatch, state, code="", text=""):
    def status(self, *, upstream_id):
        return UpstreamStatus(state=state, code=code, text=text)

    monkeypatch.setattr(SimulatorAdapter, "status", status)


def poll_now(activation):
    Activation.objects.filter(pk=activation.pk).update(polled_at=None)
    activations_poll()
    activation.refresh_from_db()


def sms_webhooks(activation) -> int:
    return WebhookDelivery.objects.filter(
        event=WebhookDelivery.Event.ACTIVATION_SMS, reference_id=str(activation.pk)
    ).count()


@pytest.fixture
def hooked(activation):
    activation.user.webhook_url = "https://hooks.example.com/sms"
    activation.user.save(update_fields=["webhook_url"])
    return activation


def into_resend(client, activation, code="111222"):
    """A first SMS pushed (SMS-Activate style: text, no id), then another code asked for."""
    response = push(
        client,
        activation,
        {"activationId": activation.upstream_id, "text": f"Your Telegram code is {code}"},
    )
    assert response.status_code == 200
    SimulatedNumber.objects.filter(pk=activation.upstream_id).update(status="received")
    activation = activation_request_another_code(activation=activation)
    assert activation.state == State.RESEND
    return activation


def test_a_waiting_answer_with_a_code_is_no_sms(hooked, monkeypatch):
    # given: an upstream whose status repeats a code while waiting
    upstream_says(monkeypatch, UpstreamStatus.WAITING, code="111222")
    # when
    poll_now(hooked)
    # then
    assert hooked.state == State.WAITING
    assert not SmsMessage.objects.exists()
    assert sms_webhooks(hooked) == 0


def test_a_wait_retry_answer_during_resend_does_not_deliver_the_old_code_again(
    client, hooked, monkeypatch
):
    # given: a code came, another one was asked for
    activation = into_resend(client, hooked)
    # when: SMS-Activate answers STATUS_WAIT_RETRY:111222 (waiting, the past code)
    upstream_says(monkeypatch, UpstreamStatus.WAITING, code="111222")
    poll_now(activation)
    # then
    assert activation.state == State.RESEND
    assert SmsMessage.objects.filter(activation=activation).count() == 1
    assert sms_webhooks(activation) == 1


@pytest.mark.parametrize("push_first", [True, False])
def test_a_push_without_id_and_a_poll_of_the_code_are_one_message(
    client, hooked, monkeypatch, push_first
):
    upstream_says(monkeypatch, UpstreamStatus.RECEIVED, code="246810")
    text = {"activationId": hooked.upstream_id, "text": "Your Telegram code is 246810"}
    if push_first:
        assert push(client, hooked, text).status_code == 200
    poll_now(hooked)
    if not push_first:
        assert push(client, hooked, text).status_code == 200
    hooked.refresh_from_db()
    assert (hooked.state, hooked.code) == (State.RECEIVED, "246810")
    assert SmsMessage.objects.filter(activation=hooked).count() == 1
    assert sms_webhooks(hooked) == 1


def test_during_resend_the_new_code_pushed_and_polled_is_one_more_message(
    client, hooked, monkeypatch
):
    activation = into_resend(client, hooked)
    push(
        client, activation, {"activationId": activation.upstream_id, "text": "Telegram code 333444"}
    )
    upstream_says(monkeypatch, UpstreamStatus.RECEIVED, code="333444")
    poll_now(activation)
    assert (activation.state, activation.code) == (State.RECEIVED, "333444")
    assert SmsMessage.objects.filter(activation=activation).count() == 2
    assert sms_webhooks(activation) == 2


def test_a_message_with_an_id_after_the_same_code_without_one_is_not_stored_again(
    client, activation, monkeypatch
):
    upstream_says(monkeypatch, UpstreamStatus.RECEIVED, code="246810")
    poll_now(activation)
    push(client, activation, body(activation))  # the same SMS, now with the upstream's id
    assert SmsMessage.objects.filter(activation=activation).count() == 1


# --- polling fairness and claims -----------------------------------------------------------------


def recording_status(monkeypatch):
    asked: list[str] = []

    def status(self, *, upstream_id):
        asked.append(upstream_id)
        return UpstreamStatus(state=UpstreamStatus.WAITING)

    monkeypatch.setattr(SimulatorAdapter, "status", status)
    return asked


def test_every_waiting_activation_is_asked_even_when_the_batch_is_smaller(
    customer, simulator, telegram, usa, monkeypatch
):
    # given: five activations waiting, a batch of two
    activations = [
        activation_purchase(user=customer, service=telegram, country=usa) for _ in range(5)
    ]
    asked = recording_status(monkeypatch)
    # when: three runs (the lease keeps a just-asked one out of the next run)
    counts = [activations_poll(batch_size=2) for _ in range(3)]
    # then: each asked once, oldest-asked first
    assert counts == [2, 2, 1]
    assert sorted(asked) == sorted(a.upstream_id for a in activations)


def test_the_longest_unasked_is_asked_first(customer, simulator, telegram, usa, monkeypatch):
    first, second = (
        activation_purchase(user=customer, service=telegram, country=usa) for _ in range(2)
    )
    long_ago = timezone.now() - timedelta(hours=1)
    Activation.objects.filter(pk=first.pk).update(polled_at=long_ago)
    Activation.objects.filter(pk=second.pk).update(polled_at=long_ago - timedelta(minutes=1))
    asked = recording_status(monkeypatch)
    activations_poll(batch_size=1)
    assert asked == [second.upstream_id]
    assert Activation.objects.get(pk=second.pk).polled_at > long_ago


def test_a_failing_row_is_reported_and_the_run_goes_on(
    customer, simulator, telegram, usa, monkeypatch
):
    broken, fine = (
        activation_purchase(user=customer, service=telegram, country=usa) for _ in range(2)
    )
    asked = []

    def status(self, *, upstream_id):
        if upstream_id == broken.upstream_id:
            raise RuntimeError("bad answer")
        asked.append(upstream_id)
        return UpstreamStatus(state=UpstreamStatus.WAITING)

    monkeypatch.setattr(SimulatorAdapter, "status", status)
    failures = []
    assert activations_poll(on_failure=lambda row, exc: failures.append((row, str(exc)))) == 2
    assert failures == [(broken.pk, "bad answer")]
    assert asked == [fine.upstream_id]


@pytest.mark.django_db(transaction=True)
def test_two_pollers_never_ask_about_one_activation_at_once(
    customer, simulator, telegram, usa, monkeypatch
):
    import threading

    from django.db import connection

    activation = activation_purchase(user=customer, service=telegram, country=usa)
    inside, release = threading.Event(), threading.Event()
    asked = []

    def status(self, *, upstream_id):
        asked.append(upstream_id)
        inside.set()
        release.wait(timeout=30)
        return UpstreamStatus(state=UpstreamStatus.WAITING)

    monkeypatch.setattr(SimulatorAdapter, "status", status)
    results = {}

    def worker(name):
        try:
            results[name] = activations_poll()
        finally:
            connection.close()

    first = threading.Thread(target=worker, args=("first",))
    first.start()
    assert inside.wait(timeout=30)
    second = threading.Thread(target=worker, args=("second",))
    second.start()
    second.join(timeout=60)
    release.set()
    first.join(timeout=60)
    assert results == {"first": 1, "second": 0}
    assert asked == [activation.upstream_id]
