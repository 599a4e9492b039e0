"""Every transition of an activation and every refusal."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from providers.adapters.simulator import SimulatorAdapter
from providers.models import SimulatedNumber
from rentals.errors import (
    BadStatus,
    CancelAfterSms,
    EarlyCancelDenied,
    ReplaceAfterSms,
    ResendCooldown,
    ReuseNotAvailable,
)
from rentals.models import Activation, SmsMessage
from rentals.selectors import activation_available_actions, resend_cooldown_seconds
from rentals.services import (
    activation_cancel,
    activation_expire,
    activation_finish,
    activation_mark_ready,
    activation_purchase,
    activation_replace,
    activation_request_another_code,
    activation_reuse,
    activations_expire_due,
)
from rentals.services.intake import activation_poll
from rentals.status import handler_status, smspool_code
from tests.rentals.conftest import age, make_simple_get, sms_arrives
from wallets.models import LedgerEntry
from wallets.selectors import wallet_for_user

pytestmark = pytest.mark.django_db
State = Activation.State


@pytest.fixture
def activation(customer, simulator, telegram, usa) -> Activation:
    return activation_purchase(user=customer, service=telegram, country=usa)


def balance(user) -> Decimal:
    return wallet_for_user(user=user).balance


def refunds(activation: Activation) -> list[Decimal]:
    return list(
        LedgerEntry.objects.filter(
            kind="refund", reference_kind="activation", reference_id=activation.pk
        ).values_list("amount", flat=True)
    )


def upstream(activation: Activation) -> SimulatedNumber:
    return SimulatedNumber.objects.get(pk=activation.upstream_id)


# --- ready ------------------------------------------------------------------------------------


def test_mark_ready_flags_a_waiting_activation(activation):
    activation = activation_mark_ready(activation=activation)
    assert activation.ready and activation.state == State.WAITING
    assert smspool_code(activation) == 8


def test_mark_ready_is_refused_once_settled(activation):
    age(activation, 200)
    activation_cancel(activation=activation)
    with pytest.raises(BadStatus):
        activation_mark_ready(activation=activation)


# --- an SMS arrives ---------------------------------------------------------------------------


def test_an_sms_sets_the_code_and_is_stored_once(activation):
    # when: the same upstream message arrives twice (pushed and polled)
    sms_arrives(activation, "Telegram code 48213", upstream_message_id="m-1")
    activation = sms_arrives(activation, "Telegram code 48213", upstream_message_id="m-1")
    # then
    assert activation.state == State.RECEIVED
    assert activation.code == "48213"
    assert activation.sms_received_at is not None
    assert SmsMessage.objects.filter(activation=activation).count() == 1
    assert handler_status(activation) == "STATUS_OK:48213"
    assert smspool_code(activation) == 3


def test_an_sms_without_a_message_id_is_deduplicated_by_its_text(activation):
    sms_arrives(activation, "Your code is 111222")
    sms_arrives(activation, "Your code is 111222")
    assert SmsMessage.objects.filter(activation=activation).count() == 1


def test_an_sms_for_an_order_we_do_not_know_is_ignored(activation, simulator):
    from providers.services import upstream_sms_dispatch

    upstream_sms_dispatch(provider=simulator, upstream_id="999999", phone="1", text="code 1234")
    assert not SmsMessage.objects.exists()


def test_the_simulators_own_sms_takes_the_same_path(activation):
    number = upstream(activation)
    SimulatedNumber.objects.filter(pk=number.pk).update(sms_due_at=timezone.now())
    from providers.adapters.simulator import simulator_deliver

    assert simulator_deliver(number_id=number.pk)
    activation.refresh_from_db()
    assert activation.state == State.RECEIVED
    assert activation.code == number.code


def test_an_sms_after_a_refund_is_kept_but_not_given(activation, customer):
    from rentals.selectors import messages_for_user

    age(activation, 200)
    activation_cancel(activation=activation)
    activation = sms_arrives(activation, "Your code is 555666")
    assert activation.state == State.CANCELLED and activation.code == ""
    assert SmsMessage.objects.filter(activation=activation).count() == 1
    assert not messages_for_user(user=customer).exists()


# --- another code -----------------------------------------------------------------------------


def test_another_code_only_after_a_code(activation):
    with pytest.raises(BadStatus):
        activation_request_another_code(activation=activation)


def test_another_code_asks_the_upstream_and_waits_for_a_retry(activation, customer):
    sms_arrives(activation, "code 123456")
    activation = activation_request_another_code(activation=activation)
    assert activation.state == State.RESEND
    assert smspool_code(activation) == 4
    assert handler_status(activation) == "STATUS_WAIT_RETRY:123456"
    assert upstream(activation).status == "waiting"
    assert balance(customer) == Decimal("9.50")  # free
    # the next SMS brings the new code
    activation = sms_arrives(activation, "code 654321")
    assert (activation.state, activation.code) == (State.RECEIVED, "654321")


def test_another_code_is_refused_during_the_cooldown(activation, settings):
    settings.SMSBOX_RESEND_COOLDOWN_SECONDS = 60
    sms_arrives(activation, "code 123456")
    activation_request_another_code(activation=activation)
    sms_arrives(activation, "code 222333")
    with pytest.raises(ResendCooldown) as caught:
        activation_request_another_code(activation=activation)
    assert 0 < caught.value.extra["retry_after"] <= 60
    activation.refresh_from_db()
    assert resend_cooldown_seconds(activation) > 0
    assert "resend" not in activation_available_actions(activation)
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        activation = activation_request_another_code(activation=activation)
    assert activation.resend_count == 2


def test_an_upstream_refusal_of_another_code_puts_it_back(activation, simulator):
    from providers.adapters import UpstreamRejected

    sms_arrives(activation, "code 123456")
    SimulatedNumber.objects.filter(pk=activation.upstream_id).update(status="finished")
    with pytest.raises(UpstreamRejected):
        activation_request_another_code(activation=activation)
    activation.refresh_from_db()
    assert activation.state == State.RECEIVED


# --- finish -----------------------------------------------------------------------------------


def test_finish_with_a_code_completes_without_a_refund(activation, customer):
    sms_arrives(activation, "code 123456")
    activation = activation_finish(activation=activation)
    assert activation.state == State.COMPLETED and activation.settled_at
    assert refunds(activation) == []
    assert balance(customer) == Decimal("9.50")
    assert handler_status(activation) == "STATUS_OK:123456"


def test_finish_without_a_code_is_refused_in_the_first_minutes(activation):
    with pytest.raises(EarlyCancelDenied) as caught:
        activation_finish(activation=activation)
    assert caught.value.code == "EARLY_CANCEL_DENIED"
    activation.refresh_from_db()
    assert activation.state == State.WAITING


def test_finish_without_a_code_later_cancels_and_refunds(activation, customer):
    age(activation, 121)
    activation = activation_finish(activation=activation)
    assert activation.state == State.CANCELLED
    assert refunds(activation) == [Decimal("0.5000")]
    assert balance(customer) == Decimal("10.00")


def test_finish_twice_is_bad_status(activation):
    sms_arrives(activation, "code 123456")
    activation_finish(activation=activation)
    with pytest.raises(BadStatus):
        activation_finish(activation=activation)


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_in_the_first_two_minutes_is_denied(activation, customer):
    age(activation, 119)
    with pytest.raises(EarlyCancelDenied):
        activation_cancel(activation=activation)
    assert balance(customer) == Decimal("9.50")


def test_cancel_after_two_minutes_refunds_once(
    activation, customer, eager_celery, django_capture_on_commit_callbacks
):
    age(activation, 120)
    with django_capture_on_commit_callbacks(execute=True):
        activation = activation_cancel(activation=activation)
    assert activation.state == State.CANCELLED
    assert smspool_code(activation) == 5 and handler_status(activation) == "STATUS_CANCEL"
    assert balance(customer) == Decimal("10.00")
    assert upstream(activation).status == "cancelled"
    with pytest.raises(BadStatus):
        activation_cancel(activation=activation)
    assert refunds(activation) == [Decimal("0.5000")]


def test_cancel_after_an_sms_is_refused(activation, customer):
    age(activation, 300)
    sms_arrives(activation, "code 123456")
    with pytest.raises(CancelAfterSms) as caught:
        activation_cancel(activation=activation)
    assert caught.value.code == "BAD_STATUS"
    assert balance(customer) == Decimal("9.50")


def test_the_early_cancel_window_is_a_setting(activation, settings):
    settings.SMSBOX_EARLY_CANCEL_SECONDS = 0
    assert activation_cancel(activation=activation).state == State.CANCELLED


# --- replace ----------------------------------------------------------------------------------


def test_replace_cancels_refunds_and_buys_another_number(activation, customer):
    age(activation, 150)
    new = activation_replace(activation=activation)
    activation.refresh_from_db()
    assert activation.state == State.CANCELLED
    assert refunds(activation) == [Decimal("0.5000")]
    assert new.replaces == activation and new.state == State.WAITING
    assert (new.service, new.country) == (activation.service, activation.country)
    assert new.phone != activation.phone
    assert balance(customer) == Decimal("9.50")


def test_replace_after_an_sms_is_refused(activation, customer):
    age(activation, 150)
    sms_arrives(activation, "code 123456")
    with pytest.raises(ReplaceAfterSms):
        activation_replace(activation=activation)
    assert Activation.objects.filter(user=customer).count() == 1


def test_replace_is_refused_early_like_a_cancel(activation):
    with pytest.raises(EarlyCancelDenied):
        activation_replace(activation=activation)


# --- reuse ------------------------------------------------------------------------------------


def test_reuse_sells_the_same_number_again_as_a_new_activation(
    activation, customer, eager_celery, django_capture_on_commit_callbacks
):
    sms_arrives(activation, "code 123456")
    with django_capture_on_commit_callbacks(execute=True):
        activation_finish(activation=activation)
    assert upstream(activation).status == "finished"
    again = activation_reuse(activation=activation)
    assert again.pk != activation.pk and again.reuses == activation
    assert (again.phone, again.service) == (activation.phone, activation.service)
    assert again.state == State.WAITING and again.upstream_id != activation.upstream_id
    assert balance(customer) == Decimal("9.00")


def test_reuse_draws_another_display_number_when_it_is_taken(
    activation, customer, monkeypatch, eager_celery, django_capture_on_commit_callbacks
):
    from rentals.services import activations as activations_module

    sms_arrives(activation, "code 123456")
    with django_capture_on_commit_callbacks(execute=True):
        activation_finish(activation=activation)
    taken = int(activation.display_number[-8:])
    draws = iter([taken, taken + 1])
    monkeypatch.setattr(activations_module, "_random_digits", lambda: next(draws))
    again = activation_reuse(activation=activation)
    assert again.display_number.endswith(f"{taken + 1:08d}")
    assert again.state == State.WAITING
    assert balance(customer) == Decimal("9.00")


def test_reuse_from_an_upstream_answering_national_numbers_keeps_the_country(
    customer, telegram, usa, fake_simple_get, eager_celery, django_capture_on_commit_callbacks
):
    """Seed 004's provider answers the number in national form (``2025550123`` for the USA):
    the reuse reads it with the activation's country, not the provider's default (NL)."""
    provider = make_simple_get(fake_simple_get, "USA")
    activation = activation_purchase(user=customer, service=telegram, country=usa)
    assert (activation.provider, activation.phone) == (provider, "12025550123")
    fake_simple_get.orders[int(activation.upstream_id)]["sms"] = "Telegram code 12345"
    activation_poll(activation=activation)
    with django_capture_on_commit_callbacks(execute=True):
        activation_finish(activation=activation)

    again = activation_reuse(activation=activation)

    assert again.phone == "12025550123" and again.upstream_id != activation.upstream_id
    assert fake_simple_get.requests[-1].params["orderId"] == activation.upstream_id


def test_reuse_needs_a_completed_activation(activation):
    with pytest.raises(ReuseNotAvailable):
        activation_reuse(activation=activation)


def test_reuse_is_refused_after_the_window(activation, eager_celery):
    sms_arrives(activation, "code 123456")
    activation_finish(activation=activation)
    age(activation, 1201)
    with pytest.raises(ReuseNotAvailable):
        activation_reuse(activation=activation)


# --- expiry -----------------------------------------------------------------------------------


def test_expiry_without_an_sms_refunds(activation, customer):
    assert activation_expire(activation=activation).state == State.WAITING  # not due yet
    age(activation, 1200)
    activation = activation_expire(activation=activation)
    assert activation.state == State.EXPIRED
    assert smspool_code(activation) == 2 and handler_status(activation) == "STATUS_CANCEL"
    assert balance(customer) == Decimal("10.00")


def test_expiry_after_an_sms_completes_without_a_refund(activation, customer):
    sms_arrives(activation, "code 123456")
    age(activation, 1200)
    assert activation_expire(activation=activation).state == State.COMPLETED
    assert balance(customer) == Decimal("9.50")


def test_the_sweep_expires_only_due_activations(customer, simulator, telegram, usa):
    due = [activation_purchase(user=customer, service=telegram, country=usa) for _ in range(3)]
    fresh = activation_purchase(user=customer, service=telegram, country=usa)
    for activation in due:
        age(activation, 1300)
    sms_arrives(due[0], "code 123456")
    assert activations_expire_due() == 3
    states = dict(Activation.objects.values_list("pk", "state"))
    assert [states[a.pk] for a in due] == [State.COMPLETED, State.EXPIRED, State.EXPIRED]
    assert states[fresh.pk] == State.WAITING
    assert balance(customer) == Decimal("9.00")
    assert activations_expire_due() == 0


# --- actions shown ----------------------------------------------------------------------------


def test_available_actions_follow_the_state(activation):
    assert activation_available_actions(activation) == ["ready", "skip"]
    age(activation, 130)
    assert activation_available_actions(activation) == [
        "ready",
        "cancel",
        "finish",
        "replace",
        "skip",
    ]
    activation = sms_arrives(activation, "code 123456")
    assert activation_available_actions(activation) == ["resend", "finish", "skip"]


def test_closing_upstream_shrugs_off_a_refusal_and_raises_a_transient_error(
    activation, monkeypatch
):
    from providers.adapters import Transient, UpstreamRejected
    from rentals.services.activations import activation_upstream_close

    def refuse(self, *, upstream_id):
        raise UpstreamRejected("BAD_STATUS")

    monkeypatch.setattr(SimulatorAdapter, "cancel", refuse)
    activation_upstream_close(activation_id=activation.pk, action="cancel")

    def down(self, *, upstream_id):
        raise Transient("503")

    monkeypatch.setattr(SimulatorAdapter, "cancel", down)
    with pytest.raises(Transient):
        activation_upstream_close(activation_id=activation.pk, action="cancel")


def test_an_sms_without_a_code_still_counts_as_delivered(activation, customer):
    activation = sms_arrives(activation, "Welcome to the service!")
    assert (activation.state, activation.code) == (State.RECEIVED, "")
    assert handler_status(activation) == "STATUS_WAIT_CODE"
    with pytest.raises(CancelAfterSms):
        activation_cancel(activation=activation)
    assert activation_finish(activation=activation).state == State.COMPLETED
    assert balance(customer) == Decimal("9.50")
