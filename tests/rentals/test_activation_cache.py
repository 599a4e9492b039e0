"""The Redis copy of what clients poll of each activation (rentals.activation_cache): every
change is seen by the next poll, a poll that read the row before a commit never stores what it
read, the copy is only its owner's, and without Redis every poll reads the row."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from providers.models import Country, Service
from rentals import activation_cache, selectors, services
from rentals.errors import NoActivation
from rentals.lifecycle import rentals_erase_personal_data
from rentals.models import Activation
from smsbox.cache import raw_redis
from tests.factories import ActivationFactory, ApiKeyFactory, UserFactory
from tests.handler.conftest import Handler
from tests.rentals.conftest import fund, make_simulator, sms_arrives

State = Activation.State


def _copy(activation: Activation) -> bytes | None:
    return raw_redis().get(activation_cache.activation_cache_keys(activation.pk)[0])


def _poll(user, activation: Activation) -> str:
    return selectors.activation_handler_status_for_user(user=user, activation_id=activation.pk)


@pytest.fixture
def market(catalog):
    make_simulator()
    return Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)


def _buy(market, user=None) -> Activation:
    service, country = market
    user = user or UserFactory()
    fund(user, "5.00")
    return services.activation_purchase(user=user, service=service, country=country)


@pytest.mark.django_db
def test_every_transition_is_seen_by_the_next_poll_through_the_handler(market):
    customer = UserFactory()
    handler = Handler(ApiKeyFactory(user=customer).raw_key)
    activation = _buy(market, customer)
    assert handler.text("getStatus", id=activation.pk) == "STATUS_WAIT_CODE"
    copy = activation_cache.activation_cache_decode(_copy(activation))
    assert (copy.user_id, copy.state, copy.phone) == (customer.pk, "waiting", activation.phone)

    sms_arrives(activation, "Code 481516")
    assert _copy(activation) is None  # dropped by the write
    assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:481516"
    assert handler.text("setStatus", id=activation.pk, status=3) == "ACCESS_RETRY_GET"
    assert handler.text("getStatus", id=activation.pk) == "STATUS_WAIT_RETRY:481516"
    sms_arrives(activation, "Code 232323")
    assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:232323"
    assert handler.text("setStatus", id=activation.pk, status=6) == "ACCESS_ACTIVATION"
    assert handler.text("getStatus", id=activation.pk) == "STATUS_OK:232323"

    cancelled = _buy(market, customer)
    assert handler.text("getStatus", id=cancelled.pk) == "STATUS_WAIT_CODE"
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):
        assert handler.text("setStatus", id=cancelled.pk, status=8) == "ACCESS_CANCEL"
        assert handler.text("getStatus", id=cancelled.pk) == "STATUS_CANCEL"


@pytest.mark.django_db
def test_expiry_by_the_sweep_is_seen_by_the_next_poll(market):
    activation = _buy(market)
    assert _poll(activation.user, activation) == "STATUS_WAIT_CODE"
    assert services.activations_expire_due(now=activation.expires_at + timedelta(seconds=1)) == 1
    assert _poll(activation.user, activation) == "STATUS_CANCEL"


@pytest.mark.django_db
def test_a_cached_status_is_only_its_owners():
    activation = ActivationFactory(state="received", code="123456")
    assert _poll(activation.user, activation) == "STATUS_OK:123456"
    assert _copy(activation) is not None
    with pytest.raises(NoActivation):
        _poll(UserFactory(), activation)
    with pytest.raises(NoActivation):
        selectors.activation_handler_status_for_user(user=activation.user, activation_id=10**12)


@pytest.mark.django_db
@override_settings(SMSBOX_ACTIVATION_CACHE_SECONDS=17)
def test_a_copy_lives_at_most_the_configured_seconds():
    activation = ActivationFactory()
    _poll(activation.user, activation)
    ttl = raw_redis().ttl(activation_cache.activation_cache_keys(activation.pk)[0])
    assert 0 < ttl <= 17


def _row(activation: Activation) -> Activation:
    return Activation.objects.select_related("service", "country").get(pk=activation.pk)


@pytest.mark.django_db(transaction=True)
def test_a_poll_that_read_the_row_before_a_commit_does_not_store_it(catalog):
    activation = ActivationFactory(state="received", code="111111")
    # The poll reads the copy (none) and the token, then the row ...
    copy, token = activation_cache.activation_cache_get(activation.pk)
    assert copy is None
    read_before = _row(activation)
    # ... and a writer commits a change before the poll stores what it read.
    with transaction.atomic():
        locked = Activation.objects.select_for_update().get(pk=activation.pk)
        locked.state, locked.code = State.COMPLETED, "222222"
        locked.save(update_fields=["state", "code"])
    assert not activation_cache.activation_cache_fill(activation=read_before, token=token)
    assert _copy(activation) is None
    assert _poll(activation.user, activation) == "STATUS_OK:222222"


@pytest.mark.django_db(transaction=True)
def test_a_poll_without_a_write_meanwhile_stores_what_it_read(catalog):
    activation = ActivationFactory(state="received", code="111111")
    _, token = activation_cache.activation_cache_get(activation.pk)
    assert activation_cache.activation_cache_fill(activation=_row(activation), token=token)
    copy = activation_cache.activation_cache_decode(_copy(activation))
    assert (copy.pk, copy.code, copy.price, copy.created_at) == (
        activation.pk,
        "111111",
        activation.price,
        activation.created_at,
    )
    assert (copy.service.code, copy.country.sms_activate_id) == ("tg", 187)


@pytest.mark.django_db(transaction=True)
def test_a_copy_stored_while_a_writer_has_not_committed_is_dropped_at_its_commit(catalog):
    activation = ActivationFactory(state="received", code="111111")
    committed = _row(activation)  # what another connection reads until the commit
    with transaction.atomic():
        locked = Activation.objects.select_for_update().get(pk=activation.pk)
        locked.state = State.COMPLETED
        locked.code = "222222"
        locked.save(update_fields=["state", "code"])
        # Another connection's poll: reads the token after the write's first drop, then the
        # committed row (still the old one), and stores it.
        _, token = activation_cache.activation_cache_get(activation.pk)
        assert activation_cache.activation_cache_fill(activation=committed, token=token)
        assert _copy(activation) is not None
    assert _copy(activation) is None  # the commit dropped it again
    assert _poll(activation.user, activation) == "STATUS_OK:222222"


@pytest.mark.django_db
def test_erasing_an_account_drops_the_copies_of_its_codes():
    activation = ActivationFactory(state="completed", code="123456")
    assert _poll(activation.user, activation) == "STATUS_OK:123456"
    rentals_erase_personal_data(activation.user)
    assert _copy(activation) is None
    assert _poll(activation.user, activation) == "STATUS_OK:"


@pytest.mark.django_db
def test_without_redis_every_poll_reads_the_row(monkeypatch):
    activation = ActivationFactory(state="received", code="123456")
    monkeypatch.setattr(activation_cache, "raw_redis", lambda: None)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert _poll(activation.user, activation) == "STATUS_OK:123456"
        assert len(queries.captured_queries) == 1
    monkeypatch.undo()
    assert _copy(activation) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_polls_racing_an_sms_end_on_the_committed_status(market, round_):
    activation = _buy(market)
    user = activation.user
    stop = threading.Event()
    errors: list[BaseException] = []

    def poll() -> None:
        try:
            while not stop.is_set():
                _poll(user, activation)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)
        finally:
            connection.close()

    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for thread in pollers:
        thread.start()
    try:
        sms_arrives(activation, f"Code 90{round_}123")
    finally:
        stop.set()
        for thread in pollers:
            thread.join(timeout=30)
    assert not errors
    assert _poll(user, activation) == f"STATUS_OK:90{round_}123"


@pytest.mark.django_db
def test_the_rest_detail_shows_each_change_at_once(market):
    customer = UserFactory()
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ApiKeyFactory(user=customer).raw_key)
    activation = _buy(market, customer)
    url = f"/api/v1/activations/{activation.pk}/"
    assert client.get(url).json()["latestCode"] is None
    assert _copy(activation) is not None
    sms_arrives(activation, "Code 777888")
    body = client.get(url).json()
    assert (body["latestCode"], body["state"]) == ("777888", "received")
    assert client.post(f"{url}finish/").status_code == 200
    assert client.get(url).json()["state"] == "completed"
    other = APIClient()
    other.credentials(HTTP_X_API_KEY=ApiKeyFactory().raw_key)
    assert other.get(url).status_code == 404  # the copy is its owner's only


@pytest.mark.django_db
def test_a_field_the_copy_does_not_hold_is_read_from_the_row():
    activation = ActivationFactory(memo="kept in the row only")
    _poll(activation.user, activation)
    copy = activation_cache.activation_cache_decode(_copy(activation))
    assert "memo" not in activation_cache.COLUMNS
    with CaptureQueriesContext(connection) as queries:
        assert copy.memo == "kept in the row only"
    assert len(queries.captured_queries) == 1
