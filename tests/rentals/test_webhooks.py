"""Customer webhooks, delivered over real HTTP to receivers on 127.0.0.1."""

import hashlib
import hmac
import ipaddress
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from rentals import tasks, webhooks
from rentals.models import WebhookDelivery, WebhookSecret
from smsbox.celery import app as celery_app
from smsbox.errors import NotFound
from tests.factories import StaffFactory, UserFactory, WebhookDeliveryFactory

Status = WebhookDelivery.Status
PAYLOAD = {
    "activationId": 635468024,
    "service": "go",
    "text": "G-482913 is your Google verification code.",
    "code": "482913",
    "country": 0,
    "receivedAt": "2022-06-01 17:30:57",
}


class Receiver:
    """A real HTTP server in a thread that records every request and answers ``status``."""

    def __init__(self, status: int = 200, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if 300 <= receiver.status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def allow_private(settings):
    settings.SMSBOX_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def eager_celery():
    # the app reads Django settings with the CELERY_ namespace: override the namespaced keys
    conf = celery_app.conf
    previous = conf.task_always_eager, conf.task_eager_propagates
    conf.update(CELERY_TASK_ALWAYS_EAGER=True, CELERY_TASK_EAGER_PROPAGATES=True)
    yield
    conf.update(CELERY_TASK_ALWAYS_EAGER=previous[0], CELERY_TASK_EAGER_PROPAGATES=previous[1])


@pytest.fixture
def fake_dns(monkeypatch):
    """Resolve chosen names to chosen addresses; everything else resolves as usual."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names and not names[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if host in names:
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port),
                )
                for a in names[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


def expected_signature(secret: str, request: dict) -> str:
    timestamp = request["headers"]["X-Smsbox-Timestamp"]
    message = timestamp.encode() + b"." + request["body"]
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def enqueue(user, url=None) -> WebhookDelivery:
    return webhooks.webhook_enqueue(
        user=user,
        payload=PAYLOAD,
        event=WebhookDelivery.Event.ACTIVATION_SMS,
        reference_kind="activation",
        reference_id=635468024,
        url=url,
    )


# --- signed delivery ------------------------------------------------------------------------


@pytest.mark.django_db
def test_receiver_gets_the_payload_signed_with_the_users_secret(receiver, allow_private):
    # given
    user = UserFactory(webhook_url=receiver.url)
    delivery = enqueue(user)
    # when
    delivery = webhooks.webhook_deliver(delivery_id=delivery.pk)
    # then
    assert [r["path"] for r in receiver.requests] == ["/hook"]
    request = receiver.requests[0]
    assert json.loads(request["body"]) == PAYLOAD
    compact = json.dumps(json.loads(request["body"]), separators=(",", ":"), ensure_ascii=False)
    assert request["body"] == compact.encode()
    assert request["headers"]["Content-Type"] == "application/json"
    secret = WebhookSecret.objects.get(user=user).secret
    assert request["headers"]["X-Smsbox-Signature"] == expected_signature(secret, request)
    assert abs(int(request["headers"]["X-Smsbox-Timestamp"]) - time.time()) < 3600
    assert delivery.status == Status.SUCCEEDED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.delivered_at is not None
    assert delivery.next_attempt_at is None


@pytest.mark.django_db
def test_enqueue_sends_through_the_task_once_the_transaction_commits(
    receiver, allow_private, eager_celery, django_capture_on_commit_callbacks
):
    user = UserFactory(webhook_url=receiver.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = enqueue(user)
    assert receiver.requests == []  # nothing leaves before the commit

    for callback in callbacks:
        callback()

    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_a_per_order_url_takes_precedence_over_the_users_url(
    receiver, allow_private, django_capture_on_commit_callbacks
):
    user = UserFactory(webhook_url="https://hooks.example.com/account")
    with django_capture_on_commit_callbacks():
        delivery = enqueue(user, url=receiver.url)
    assert delivery.url == receiver.url
    assert delivery.reference_kind == "activation"
    assert delivery.reference_id == "635468024"


@pytest.mark.django_db
def test_no_url_means_no_delivery():
    user = UserFactory(webhook_url="")
    assert enqueue(user) is None
    assert not WebhookDelivery.objects.exists()


def test_payload_builders_follow_the_protocol():
    received = datetime(2022, 6, 1, 17, 30, 57, tzinfo=UTC)
    assert (
        webhooks.webhook_payload_activation_sms(
            activation_id=635468024,
            service="go",
            text="G-482913 is your Google verification code.",
            code="482913",
            country=0,
            received_at=received,
        )
        == PAYLOAD
    )
    assert webhooks.webhook_payload_rent_sms(
        rent_id=1049, phone_from="Telegram", text="Telegram code 12345", received_at=received
    ) == {
        "rentId": 1049,
        "sms": {
            "phoneFrom": "Telegram",
            "text": "Telegram code 12345",
            "date": "2022-06-01 17:30:57",
        },
    }


# --- retries --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_with_back_off_and_given_up_after_eight_attempts(
    allow_private,
):
    failing = Receiver(status=500)
    try:
        user = UserFactory(webhook_url=failing.url)
        start = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        with time_machine.travel(start, tick=False) as traveller:
            delivery = enqueue(user)
            webhooks.webhook_deliver(delivery_id=delivery.pk)
            attempt_times = [timezone.now()]
            delivery.refresh_from_db()
            while delivery.status == Status.PENDING:
                # not due yet: neither the task nor the sweep sends anything
                assert (
                    webhooks.webhook_deliver(delivery_id=delivery.pk).attempts == delivery.attempts
                )
                assert webhooks.webhooks_retry_due() == 0
                traveller.move_to(delivery.next_attempt_at)
                assert webhooks.webhooks_retry_due() == 1
                attempt_times.append(timezone.now())
                delivery.refresh_from_db()
    finally:
        failing.close()

    assert delivery.status == Status.GIVEN_UP
    assert delivery.attempts == 8
    assert len(failing.requests) == 8
    assert delivery.last_status_code == 500
    assert "500" in delivery.last_error
    assert delivery.next_attempt_at is None
    gaps = [later - earlier for earlier, later in pairwise(attempt_times)]
    assert len(gaps) == 7
    assert all(later > earlier for earlier, later in pairwise(gaps))
    assert attempt_times[-1] - attempt_times[0] <= timedelta(hours=2)
    # a given-up delivery is never attempted again
    with time_machine.travel(start + timedelta(days=1), tick=False):
        assert webhooks.webhooks_retry_due() == 0
        assert webhooks.webhook_deliver(delivery_id=delivery.pk).attempts == 8


@pytest.mark.django_db
@pytest.mark.parametrize("status", [201, 204, 302, 404, 503])
def test_only_http_200_counts_as_delivered(allow_private, status):
    other = Receiver(status=status)
    try:
        delivery = WebhookDeliveryFactory(url=other.url)
        delivery = webhooks.webhook_deliver(delivery_id=delivery.pk)
    finally:
        other.close()
    assert delivery.status == Status.PENDING
    assert delivery.last_status_code == status
    assert delivery.next_attempt_at > timezone.now()
    assert [r["path"] for r in other.requests] == ["/hook"]  # a redirect is not followed


@pytest.mark.django_db
def test_an_unreachable_receiver_is_an_error_recorded_for_a_retry(allow_private):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    delivery = WebhookDeliveryFactory(url=f"http://127.0.0.1:{closed_port}/hook")
    delivery = webhooks.webhook_deliver(delivery_id=delivery.pk)
    assert delivery.status == Status.PENDING
    assert delivery.last_status_code is None
    assert "ConnectError" in delivery.last_error


@pytest.mark.django_db
def test_the_sweep_takes_over_an_attempt_whose_worker_died(receiver, allow_private):
    # given: a worker claimed attempt 1 and died before recording it
    now = timezone.now()
    delivery = WebhookDeliveryFactory(
        url=receiver.url, attempts=1, next_attempt_at=now + webhooks.CLAIM_LEASE
    )
    assert webhooks.webhooks_retry_due() == 0
    # when the lease has run out
    with time_machine.travel(now + webhooks.CLAIM_LEASE + timedelta(seconds=1), tick=False):
        assert webhooks.webhooks_retry_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 2)


@pytest.mark.django_db
def test_the_sweep_gives_up_an_interrupted_last_attempt():
    delivery = WebhookDeliveryFactory(
        attempts=webhooks.MAX_ATTEMPTS, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert webhooks.webhooks_retry_due() == 0
    delivery.refresh_from_db()
    assert delivery.status == Status.GIVEN_UP
    assert delivery.attempts == webhooks.MAX_ATTEMPTS


def test_the_retry_schedule_fits_eight_attempts_in_two_hours():
    assert webhooks.MAX_ATTEMPTS == 8
    assert list(webhooks.RETRY_DELAYS) == sorted(set(webhooks.RETRY_DELAYS))
    # one minute of sweep latency per retry and a full timeout per attempt still fit
    slack = (
        len(webhooks.RETRY_DELAYS) * 60 + webhooks.MAX_ATTEMPTS * webhooks.webhook_timeout().read
    )
    assert sum(webhooks.RETRY_DELAYS) + slack <= 2 * 3600


# --- URL safety -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_urls_are_refused_by_default(receiver, host):
    delivery = WebhookDeliveryFactory(url=f"http://{host}:{receiver.port}/hook")
    delivery = webhooks.webhook_deliver(delivery_id=delivery.pk)
    assert delivery.status == Status.FAILED
    assert "private or reserved" in delivery.last_error
    assert delivery.next_attempt_at is None
    assert receiver.requests == []


@pytest.mark.django_db
def test_loopback_urls_are_allowed_when_the_setting_is_on(receiver, settings):
    settings.SMSBOX_WEBHOOK_ALLOW_PRIVATE = True
    delivery = WebhookDeliveryFactory(url=receiver.url)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk).status == Status.SUCCEEDED
    assert len(receiver.requests) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], ["192.168.0.10"], ["169.254.169.254"], ["93.184.216.34", "172.16.0.1"]],
)
def test_a_name_resolving_to_a_private_address_is_refused(fake_dns, addresses):
    fake_dns["hooks.customer.test"] = addresses
    delivery = WebhookDeliveryFactory(url="https://hooks.customer.test/smsbox")
    delivery = webhooks.webhook_deliver(delivery_id=delivery.pk)
    assert delivery.status == Status.FAILED
    assert "hooks.customer.test resolves to" in delivery.last_error


@pytest.mark.django_db
def test_the_request_goes_to_the_checked_address_with_the_original_host(
    receiver, allow_private, fake_dns
):
    # the name answers the receiver's address once, then (rebound) an address where nothing
    # listens: the request arrives only if it goes to the address that was checked
    answers = [["127.0.0.1"], ["127.0.0.2"]]
    fake_dns["hooks.customer.test"] = answers[0]
    real_check = webhooks.webhook_url_check

    def check_then_rebind(url):
        addresses = real_check(url)
        fake_dns["hooks.customer.test"] = answers[1]
        return addresses

    delivery = WebhookDeliveryFactory(url=f"http://hooks.customer.test:{receiver.port}/hook")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(webhooks, "webhook_url_check", check_then_rebind)
        assert webhooks.webhook_deliver(delivery_id=delivery.pk).status == Status.SUCCEEDED
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.customer.test:{receiver.port}"


@pytest.mark.django_db
def test_an_unresolvable_host_is_retried(fake_dns):
    fake_dns["no-such-host.invalid"] = []
    delivery = WebhookDeliveryFactory(url="https://no-such-host.invalid/hook")
    delivery = webhooks.webhook_deliver(delivery_id=delivery.pk)
    assert delivery.status == Status.PENDING
    assert "does not resolve" in delivery.last_error


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["ftp://hooks.example.com/x", "javascript:alert(1)", "hooks.example.com/no-scheme"]
)
def test_a_url_of_another_scheme_is_recorded_as_failed_without_a_task(
    url, django_capture_on_commit_callbacks
):
    user = UserFactory()
    with django_capture_on_commit_callbacks() as callbacks:
        delivery = enqueue(user, url=url)
    assert callbacks == []
    assert delivery.status == Status.FAILED
    assert "http://" in delivery.last_error


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),  # noqa: S104
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("::1", True),
        ("::", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("93.184.216.34", False),
        ("8.8.8.8", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_address_classification(address, refused):
    assert webhooks.address_is_refused(ipaddress.ip_address(address)) is refused


@pytest.mark.django_db
def test_webhook_url_check_tells_forms_why_a_url_is_refused():
    with pytest.raises(webhooks.WebhookUrlRefused, match="private or reserved"):
        webhooks.webhook_url_check("http://127.0.0.1:8000/hook")
    with pytest.raises(webhooks.WebhookUrlRefused, match="http"):
        webhooks.webhook_url_check("gopher://example.com/")


# --- concurrency ----------------------------------------------------------------------------


def run_in_threads(target, count: int = 2) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target()
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_due_row_send_it_once(allow_private):
    slow = Receiver(delay=0.3)
    try:
        delivery = WebhookDeliveryFactory(url=slow.url)
        run_in_threads(lambda: webhooks.webhook_deliver(delivery_id=delivery.pk))
    finally:
        slow.close()
    assert len(slow.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.SUCCEEDED, 1)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_share_the_due_rows_and_send_each_once(allow_private):
    slow = Receiver(delay=0.05)
    try:
        deliveries = WebhookDeliveryFactory.create_batch(6, url=slow.url)
        attempted = run_in_threads(webhooks.webhooks_retry_due)
    finally:
        slow.close()
    assert sum(attempted) == 6
    sent = sorted(json.loads(r["body"])["activationId"] for r in slow.requests)
    assert sent == sorted(d.payload["activationId"] for d in deliveries)
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(Status.SUCCEEDED, 1)}


# --- redeliver, secrets, log ----------------------------------------------------------------


@pytest.mark.django_db
def test_redeliver_starts_a_new_round(
    receiver, allow_private, eager_celery, django_capture_on_commit_callbacks
):
    given_up = WebhookDeliveryFactory(
        url=receiver.url,
        status=Status.GIVEN_UP,
        attempts=8,
        last_status_code=500,
        next_attempt_at=None,
    )
    operator = StaffFactory()
    with django_capture_on_commit_callbacks(execute=True):
        webhooks.webhook_redeliver(delivery=given_up, actor=operator)
    given_up.refresh_from_db()
    assert given_up.status == Status.SUCCEEDED
    assert (given_up.attempts, given_up.last_status_code) == (1, 200)
    assert len(receiver.requests) == 1


@pytest.mark.django_db
def test_redeliver_from_the_admin(receiver, allow_private, eager_celery, client):
    delivery = WebhookDeliveryFactory(url=receiver.url, status=Status.FAILED, attempts=1)
    client.force_login(StaffFactory())
    url = reverse("admin:rentals_webhookdelivery_changelist")
    response = client.post(url, {"action": "redeliver", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    delivery.refresh_from_db()
    # the test transaction never commits, so the task has not run: the row waits, due now
    assert (delivery.status, delivery.attempts) == (Status.PENDING, 0)
    assert delivery.next_attempt_at <= timezone.now()


@pytest.mark.django_db
def test_an_operator_with_view_permission_only_cannot_redeliver(client):
    delivery = WebhookDeliveryFactory(status=Status.FAILED, attempts=1)
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookdelivery"))
    client.force_login(viewer)
    url = reverse("admin:rentals_webhookdelivery_changelist")
    assert client.get(url).status_code == 200
    client.post(url, {"action": "redeliver", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 1)


@pytest.mark.django_db
def test_admin_log_shows_deliveries_but_never_the_secret(client):
    delivery = WebhookDeliveryFactory(url="https://hooks.example.com/visible")
    secret = webhooks.webhook_secret_get_or_create(user=delivery.user)
    client.force_login(StaffFactory())
    listing = client.get(reverse("admin:rentals_webhookdelivery_changelist"))
    detail = client.get(reverse("admin:rentals_webhookdelivery_change", args=[delivery.pk]))
    assert listing.status_code == detail.status_code == 200
    assert b"hooks.example.com/visible" in listing.content
    assert delivery.user.email.encode() in listing.content
    assert b"activationId" in detail.content
    for page in (listing, detail):
        assert secret.encode() not in page.content


@pytest.mark.django_db
def test_the_secret_is_created_once_and_rotates(receiver, allow_private):
    user = UserFactory(webhook_url=receiver.url)
    first = webhooks.webhook_secret_get_or_create(user=user)
    assert webhooks.webhook_secret_get_or_create(user=user) == first

    second = webhooks.webhook_secret_rotate(user=user)

    assert second != first
    assert WebhookSecret.objects.get(user=user).rotated_at is not None
    webhooks.webhook_deliver(delivery_id=enqueue(user).pk)
    request = receiver.requests[0]
    assert request["headers"]["X-Smsbox-Signature"] == expected_signature(second, request)
    assert request["headers"]["X-Smsbox-Signature"] != expected_signature(first, request)


@pytest.mark.django_db
def test_the_customer_sees_only_their_own_deliveries():
    user = UserFactory()
    mine = [*WebhookDeliveryFactory.create_batch(2, user=user)]
    mine.append(WebhookDeliveryFactory(user=user, status=Status.GIVEN_UP))
    other = WebhookDeliveryFactory()

    assert list(webhooks.webhook_deliveries_for_user(user=user)) == mine[::-1]
    assert webhooks.webhook_deliveries_for_user(user=user, status=Status.GIVEN_UP).count() == 1
    assert webhooks.webhook_delivery_get_for_user(user=user, delivery_id=mine[0].pk) == mine[0]
    with pytest.raises(NotFound):
        webhooks.webhook_delivery_get_for_user(user=user, delivery_id=other.pk)


@pytest.mark.django_db
def test_the_task_shrugs_off_a_delivery_that_is_gone():
    tasks.webhook_deliver.apply(args=(987654321,)).get()  # no exception
