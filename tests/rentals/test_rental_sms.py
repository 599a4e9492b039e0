"""A rental's inbox: several SMS over its life through the one upstream SMS path, in order,
each stored once, each sent to the customer's webhook."""

from datetime import timedelta

import pytest
from django.utils import timezone

from providers.adapters.simulator import simulator_deliver
from providers.models import SimulatedNumber
from rentals.models import Rental, SmsMessage, WebhookDelivery
from rentals.rental_selectors import rental_messages, rental_messages_page
from rentals.services.rentals import (
    rental_finish,
    rental_poll,
    rental_purchase,
    rental_receive_sms,
    rentals_poll,
)
from tests.rentals.rental_support import sms_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def rental(renter, usa, rent_sim, rent_plans) -> Rental:
    return rental_purchase(user=renter, country=usa, hours=24)


def test_one_rental_receives_several_sms_all_visible_in_order(rental):
    start = timezone.now()
    texts = ["Your Uber code is 0183.", "Tinder code 417097", "WhatsApp code 123-456"]
    for minutes, text in enumerate(texts):
        sms_to(rental, text, sender_name="Sender", received_at=start + timedelta(minutes=minutes))

    messages = list(rental_messages(rental=rental))
    assert [m.text for m in messages] == texts
    assert [m.code for m in messages] == ["0183", "417097", "123456"]
    assert all(m.rental_id == rental.pk and m.activation_id is None for m in messages)
    rental.refresh_from_db()
    assert rental.first_sms_at == start


def test_the_same_code_twice_at_two_times_is_two_messages(rental):
    now = timezone.now()
    sms_to(rental, "code 1111", received_at=now)
    sms_to(rental, "code 1111", received_at=now + timedelta(hours=1))

    assert rental_messages(rental=rental).count() == 2


def test_an_sms_pushed_and_polled_is_stored_once(rental):
    at = timezone.now()
    sms_to(rental, "code 2222", upstream_message_id="m-1", received_at=at)
    sms_to(rental, "code 2222", upstream_message_id="m-1", received_at=at)
    sms_to(rental, "code 3333", received_at=at)  # no id: derived from time, sender and text
    sms_to(rental, "code 3333", received_at=at)

    assert rental_messages(rental=rental).count() == 2


def test_every_sms_goes_to_the_rental_webhook_or_the_account_one(rental, renter):
    sms_to(rental, "first 1234")
    Rental.objects.filter(pk=rental.pk).update(webhook_url="https://rental.example.com/hook")
    rental.refresh_from_db()
    sms_to(rental, "second 5678")

    deliveries = list(WebhookDelivery.objects.filter(event="rent.sms").order_by("pk"))
    assert [d.url for d in deliveries] == [renter.webhook_url, "https://rental.example.com/hook"]
    assert deliveries[0].payload["rentId"] == rental.pk
    assert deliveries[1].payload["sms"]["text"] == "second 5678"
    assert set(deliveries[0].payload["sms"]) == {"phoneFrom", "text", "date"}


def test_an_sms_for_an_unknown_order_or_another_phone_is_not_stored(rental):
    from providers.services import upstream_sms_dispatch

    upstream_sms_dispatch(provider=rental.provider, upstream_id="999999", phone="", text="x 1234")
    upstream_sms_dispatch(
        provider=rental.provider, upstream_id=rental.upstream_id, phone="15550000000", text="y"
    )

    assert not SmsMessage.objects.filter(rental=rental).exists()


def test_an_sms_after_the_end_is_kept_but_not_sent(rental):
    rental_finish(rental=rental)

    message = rental_receive_sms(rental=rental, text="late 4321")

    assert message is not None and message.rental_id == rental.pk
    assert not WebhookDelivery.objects.filter(event="rent.sms").exists()


def test_the_protocol_page_is_newest_first(rental):
    start = timezone.now()
    for i in range(5):
        sms_to(rental, f"sms {i}", received_at=start + timedelta(minutes=i))

    first = rental_messages_page(rental=rental, page=0, size=2)
    second = rental_messages_page(rental=rental, page=1, size=2)

    assert first.total == 5
    assert [m.text for m in first.messages] == ["sms 4", "sms 3"]
    assert [m.text for m in second.messages] == ["sms 2", "sms 1"]


def test_the_simulator_delivers_a_rented_numbers_sms_through_the_signal(rental):
    number = SimulatedNumber.objects.get(pk=int(rental.upstream_id))
    SimulatedNumber.objects.filter(pk=number.pk).update(sms_due_at=timezone.now())

    assert simulator_deliver(number_id=number.pk) is True

    message = rental_messages(rental=rental).get()
    assert message.code == number.code


def test_polling_reads_the_upstream_inbox_into_the_same_path(rental):
    number = SimulatedNumber.objects.get(pk=int(rental.upstream_id))
    SimulatedNumber.objects.filter(pk=number.pk).update(
        messages=[
            {"id": f"{number.pk}-1", "text": "poll code 777777", "sender": "svc", "at": None},
        ]
    )

    assert rental_poll(rental=rental) == 1
    assert rentals_poll() == 1  # asked again: nothing new is stored

    assert [m.code for m in rental_messages(rental=rental)] == ["777777"]


def test_sms_pushed_by_the_upstream_reach_the_rental(client, rental):
    import json

    provider = rental.provider
    provider.settings = {**provider.settings, "push_secret": "rent-push-secret-0123"}
    provider.save(update_fields=["settings"])

    def push(message_id: str, text: str):
        return client.post(
            f"/providers/{provider.pk}/push",
            json.dumps({"upstream_id": rental.upstream_id, "text": text, "message_id": message_id}),
            content_type="application/json",
            HTTP_X_PUSH_SECRET="rent-push-secret-0123",
        )

    assert push("p-1", "first code 1111").json() == {"status": "ok"}
    assert push("p-2", "second code 2222").status_code == 200
    assert push("p-2", "second code 2222").status_code == 200  # pushed again: stored once

    assert [m.code for m in rental_messages(rental=rental)] == ["1111", "2222"]
