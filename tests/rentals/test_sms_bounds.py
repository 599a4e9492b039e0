"""Bounded messages: an SMS is stored up to ``SMS_TEXT_LIMIT`` characters on every intake path
(upstream push, polling, the simulator, rentals), the rest cut and the message flagged; the
push endpoint refuses bodies over 2 MiB with a 413 before reading them."""

import json

import pytest
from django.utils import timezone

from providers.models import SimulatedNumber
from providers.push import PUSH_MAX_BODY_BYTES
from rentals.models import Activation, Rental, SmsMessage
from rentals.models.messages import SMS_TEXT_LIMIT
from rentals.services import activation_purchase, activations_poll
from rentals.services.rentals import rental_poll, rental_purchase, rental_receive_sms

pytestmark = pytest.mark.django_db
SECRET = "push-secret-0123456789"
ONE_MB = 1_000_000
HUGE = "Your Telegram code is 246810. " + "x" * ONE_MB


@pytest.fixture
def activation(customer, simulator, telegram, usa) -> Activation:
    simulator.settings = {**simulator.settings, "push_secret": SECRET}
    simulator.save(update_fields=["settings"])
    return activation_purchase(user=customer, service=telegram, country=usa)


def push(client, provider_id: int, data: bytes):
    return client.post(
        f"/providers/{provider_id}/push",
        data,
        content_type="application/json",
        HTTP_X_PUSH_SECRET=SECRET,
    )


def assert_cut(message: SmsMessage) -> None:
    assert len(message.text) == SMS_TEXT_LIMIT and message.text_truncated is True
    assert message.text == HUGE[:SMS_TEXT_LIMIT]


def test_a_pushed_sms_of_one_megabyte_is_stored_cut_to_the_limit(client, activation):
    body = {"upstream_id": activation.upstream_id, "text": HUGE, "message_id": "big-1"}

    response = push(client, activation.provider_id, json.dumps(body).encode())

    assert response.status_code == 200, response.content[:200]
    message = SmsMessage.objects.get()
    assert_cut(message)
    activation.refresh_from_db()
    assert activation.code == "246810"


def test_a_push_body_over_two_mebibytes_is_a_413_and_nothing_is_stored(client, activation):
    text = "code 1111 " + "y" * (PUSH_MAX_BODY_BYTES + 10)
    body = {"upstream_id": activation.upstream_id, "text": text, "message_id": "big-2"}

    response = push(client, activation.provider_id, json.dumps(body).encode())

    assert response.status_code == 413 and response.json()["code"] == "TOO_LARGE"
    assert not SmsMessage.objects.exists()


def test_a_polled_sms_of_one_megabyte_is_stored_cut_to_the_limit(
    customer, simulator, telegram, usa
):
    simulator.settings = {**simulator.settings, "sms_text": HUGE.replace("246810", "{code}")}
    simulator.save(update_fields=["settings"])
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    SimulatedNumber.objects.filter(pk=activation.upstream_id).update(sms_due_at=timezone.now())

    assert activations_poll() == 1

    message = SmsMessage.objects.get(activation=activation)
    assert len(message.text) == SMS_TEXT_LIMIT and message.text_truncated
    activation.refresh_from_db()
    assert activation.state == Activation.State.RECEIVED and activation.code in message.text


def test_a_rental_sms_of_one_megabyte_is_stored_cut_to_the_limit(renter, usa, rent_sim, rent_plans):
    rental = rental_purchase(user=renter, country=usa, hours=24)
    number = SimulatedNumber.objects.get(pk=int(rental.upstream_id))
    SimulatedNumber.objects.filter(pk=number.pk).update(
        messages=[{"id": f"{number.pk}-1", "text": HUGE, "sender": "svc", "at": None}]
    )

    assert rental_poll(rental=rental) == 1

    assert_cut(SmsMessage.objects.get(rental=rental))
    assert rental.state == Rental.State.ACTIVE


def test_a_short_sms_is_whole_and_not_flagged_and_nul_characters_are_dropped(
    renter, usa, rent_sim, rent_plans
):
    rental = rental_purchase(user=renter, country=usa, hours=24)
    exact = "z" * SMS_TEXT_LIMIT

    first = rental_receive_sms(rental=rental, text=exact, upstream_message_id="m-1")
    second = rental_receive_sms(rental=rental, text="code\x00 4321", upstream_message_id="m-2")

    assert (first.text, first.text_truncated) == (exact, False)
    assert (second.text, second.text_truncated) == ("code 4321", False)
