"""Fault injection on real services: a redis-server of the test's own (stopped, restarted,
paused) with smsbox's cache, rate limits and broker pointed at it, and smsbox served on a real
socket (pytest-django's ``live_server``)."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
import redis
from django.test import override_settings

from providers.catalog import catalog_load
from smsbox.cache import redis_mark_up
from smsbox.celery import app
from tests.factories import ApiKeyFactory, OfferFactory, UserFactory
from tests.handler.conftest import fund


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server on a port of its own, in memory only."""

    def __init__(self, workdir: str) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a paused server cannot stop otherwise
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)


def _reset_broker_pools() -> None:
    """The Celery app reads its broker from Django's settings (overridden by the tests): its
    connection pools are rebuilt so they connect to the broker the settings name now."""
    app._pool = None  # kombu keeps the pool itself, per broker URL, for whoever uses it again
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    """smsbox's cache, rate limits, key checks, activation copies and broker on a redis-server
    this test may stop; a short timeout and back-off so the test runs quickly."""
    server = RedisServer(str(tmp_path))
    server.start()
    caches = {
        "default": {
            "BACKEND": "smsbox.cache.RedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
        }
    }
    with override_settings(
        CACHES=caches,
        REDIS_URL=server.url,
        CELERY_BROKER_URL=server.url,
        SMSBOX_REDIS_RETRY_SECONDS=0.5,
    ):
        _reset_broker_pools()
        assert app.connection_for_write().as_uri().endswith(f":{server.port}/0")
        redis_mark_up()
        try:
            yield server
        finally:
            server.stop()
            redis_mark_up()
    _reset_broker_pools()


@pytest.fixture
def shop(live_server):
    """A funded customer with an API key, and a simulator offer of Telegram in the USA."""
    catalog_load()  # a transactional test before this one may have emptied the tables
    user = UserFactory()
    fund(user, "100.00")
    OfferFactory(cost=Decimal("0.50"), stock=500)
    return SimpleNamespace(user=user, key=ApiKeyFactory(user=user).raw_key, url=live_server.url)
