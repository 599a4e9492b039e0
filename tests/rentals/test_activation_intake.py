"""SMS intake: the provider push endpoint and the poller feed the one SMS path, deduplicated."""

import json
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from providers.adapters import UpstreamStatus
from providers.adapters.simulator import SimulatorAdapter
from providers.models import SimulatedNumber
from rentals.models import Activation, SmsMessage
from rentals.services import activation_purchase, activations_poll

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
    Activation.objects.filter(pk=activation.pk).update(state=State.WAITING)
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
