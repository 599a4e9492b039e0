"""Money jobs never wait behind webhooks: customer webhook deliveries run on their own Celery
queue (``webhooks``) and worker, so four customer URLs that accept the connection and answer
only after 60 s leave the expiry sweep's pace unchanged.

Real processes: a worker on the default queue (the money jobs) and one on ``webhooks``, as the
Procfile starts them, four tarpit HTTP servers on localhost, PostgreSQL and Redis. The lag is
judged by state, not by timing: the due activations are expired and refunded while the tarpit
deliveries are still hanging (pending, no outcome recorded, no answer sent)."""

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from providers.models import Country, Service
from rentals.models import Activation, WebhookDelivery
from rentals.services import activation_purchase
from rentals.webhooks import webhook_enqueue
from smsbox.celery import app
from tests.factories import UserFactory
from tests.rentals.conftest import fund, make_simulator
from tests.smsbox.test_celery_integration import celery, wait_for, wait_for_workers, worker_env
from wallets.models import LedgerEntry

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
_ = worker_env  # the fixture, imported for this module
TARPIT_SECONDS = 60
EXPIRY_DEADLINE = 20  # seconds: far more than an expiry sweep takes, far less than a tarpit


class Tarpit(socketserver.ThreadingTCPServer):
    """Accepts a connection, reads the request, answers 200 only after ``TARPIT_SECONDS`` (or
    when released)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TarpitHandler)
        self.accepted = 0
        self.answered = 0
        self.released = threading.Event()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _TarpitHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: Tarpit = self.server  # type: ignore[assignment]
        with server.lock:
            server.accepted += 1
        self.request.settimeout(5)
        try:
            self.request.recv(65536)
        except OSError:
            return
        server.released.wait(TARPIT_SECONDS)
        try:
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            with server.lock:
                server.answered += 1
        except OSError:
            pass  # the client gave up first


@pytest.fixture
def tarpits() -> Iterator[list[Tarpit]]:
    servers = [Tarpit() for _ in range(4)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield servers
    for server in servers:
        server.released.set()
        server.shutdown()
        server.server_close()


def _workers(stack: ExitStack, env: dict[str, str], tmp_path: Path) -> list[Path]:
    """The two workers of the Procfile: the money jobs on ``celery``, webhooks on theirs."""
    logs = [tmp_path / "money.log", tmp_path / "webhooks.log"]
    for (name, queues, concurrency), log in zip(
        [("money", "celery", 2), ("webhooks", "webhooks", 4)], logs, strict=True
    ):
        stack.enter_context(
            celery(
                "worker",
                f"--hostname={name}@%h",
                f"--queues={queues}",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                env=env,
                log=log,
            )
        )
    wait_for_workers(["money", "webhooks"], logs)
    return logs


def _buy(user, count: int) -> list[Activation]:
    service, country = Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)
    return [activation_purchase(user=user, service=service, country=country) for _ in range(count)]


def _make_due(activations: list[Activation]) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Activation.objects.filter(pk__in=[a.pk for a in activations]).update(expires_at=past)


def _expired_and_refunded(activations: list[Activation]) -> bool:
    ids = [a.pk for a in activations]
    expired = Activation.objects.filter(pk__in=ids, state=Activation.State.EXPIRED).count()
    refunds = LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.REFUND, reference_id__in=[str(i) for i in ids]
    ).count()
    return expired == refunds == len(ids)


def _sweep_until_expired(activations: list[Activation], logs: list[Path]) -> float:
    """Send the expiry sweep as beat does and wait for its effect; the seconds it took."""
    started = time.monotonic()
    app.send_task("rentals.tasks.activations_expire")
    deadline = started + EXPIRY_DEADLINE
    while time.monotonic() < deadline:
        if _expired_and_refunded(activations):
            return time.monotonic() - started
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"the expiry sweep did not settle within {EXPIRY_DEADLINE} s\n{tails}")


def test_tarpit_webhooks_leave_the_expiry_sweep_lag_unchanged(
    worker_env, tmp_path, tarpits, catalog
):
    # given: a customer with eight open activations, and deliveries that wait 30 s per read
    worker_env.update(SMSBOX_WEBHOOK_ALLOW_PRIVATE="true", SMSBOX_WEBHOOK_READ_TIMEOUT="30")
    make_simulator()
    customer = UserFactory()
    fund(customer, "20.00")
    without_tarpits, with_tarpits = _buy(customer, 4), _buy(customer, 4)

    with ExitStack() as stack:
        logs = _workers(stack, worker_env, tmp_path)

        # when: the sweep runs with no webhook traffic (the baseline) …
        _make_due(without_tarpits)
        baseline = _sweep_until_expired(without_tarpits, logs)

        # … and again while four customer URLs hold their deliveries
        with transaction.atomic():
            deliveries = [
                webhook_enqueue(
                    user=customer,
                    payload={"activationId": with_tarpits[0].pk, "text": "code 1234"},
                    event=WebhookDelivery.Event.ACTIVATION_SMS,
                    reference_kind="activation",
                    reference_id=with_tarpits[0].pk,
                    url=pit.url,
                )
                for pit in tarpits
            ]
        wait_for(lambda: sum(p.accepted for p in tarpits) >= 1, "a delivery to start", logs)
        _make_due(with_tarpits)
        lagged = _sweep_until_expired(with_tarpits, logs)

        # then: the due activations were expired and refunded while every delivery still hangs
        hanging = WebhookDelivery.objects.filter(
            pk__in=[d.pk for d in deliveries],
            status=WebhookDelivery.Status.PENDING,
            last_status_code__isnull=True,
            last_error="",
        )
        assert hanging.count() == 4
        assert sum(p.answered for p in tarpits) == 0
        wait_for(lambda: all(p.accepted == 1 for p in tarpits), "four parallel deliveries", logs)
        print(f"expiry sweep: {baseline:.2f} s without tarpits, {lagged:.2f} s with four")
        for pit in tarpits:
            pit.released.set()
        wait_for(
            lambda: WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SUCCEEDED).count()
            == 4,
            "the released deliveries to succeed",
            logs,
        )


def test_the_webhook_tasks_are_routed_to_their_own_queue():
    for name in ("rentals.tasks.webhook_deliver", "rentals.tasks.webhooks_retry_due"):
        assert app.amqp.router.route({}, name)["queue"].name == "webhooks"
    for name in ("rentals.tasks.activations_expire", "rentals.tasks.activations_reconcile"):
        assert app.amqp.router.route({}, name)["queue"].name == "celery"


def test_the_procfile_starts_one_worker_per_queue():
    procfile = (Path(__file__).resolve().parents[2] / "Procfile").read_text().splitlines()
    workers = {line.split(":", 1)[0]: line for line in procfile if " worker " in line}
    assert "--queues celery " in workers["worker"]
    assert "--queues webhooks " in workers["webhooks"]


def test_a_delivery_gives_up_on_a_silent_receiver_after_the_read_timeout(settings, db):
    # given a receiver that accepts and never answers, and a short read timeout
    settings.SMSBOX_WEBHOOK_ALLOW_PRIVATE = True
    settings.SMSBOX_WEBHOOK_READ_TIMEOUT = 0.5
    listener = socket.create_server(("127.0.0.1", 0))
    user = UserFactory()
    delivery = webhook_enqueue(
        user=user,
        payload={"x": 1},
        event=WebhookDelivery.Event.ACTIVATION_SMS,
        reference_kind="activation",
        reference_id=1,
        url=f"http://127.0.0.1:{listener.getsockname()[1]}/hook",
    )
    from rentals.webhooks import webhook_deliver

    # when
    started = time.monotonic()
    delivery = webhook_deliver(delivery_id=delivery.pk)
    listener.close()

    # then: a timeout recorded, a retry scheduled, the worker free again at once
    assert time.monotonic() - started < 5
    assert "Timeout" in delivery.last_error and delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1
