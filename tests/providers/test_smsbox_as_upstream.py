"""One smsbox buys from another through the SMS-Activate adapter, end to end over HTTP.

The upstream smsbox runs in its own processes (web server on a localhost port, Celery worker)
with its own PostgreSQL database and the demo data: the simulator as its provider (SMS after a
second) and a customer with an API key and money. This smsbox adds it as an ``sms_activate``
provider and buys from it.
"""

import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from providers.adapters import BadCredentials, UpstreamStatus, adapter_for
from providers.models import Country, Service
from providers.services import offers_sync
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_KEY = "UpstreamSmsboxKey0123456789abcdefXYZ"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _upstream_database(name: str, *, create: bool) -> str:
    """(Re)create, or drop, the upstream's own database on the test database's server."""
    db = settings.DATABASES["default"]
    admin = psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{name}"


@pytest.fixture(scope="module")
def upstream_smsbox(django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock():
        name = f"{settings.DATABASES['default']['NAME']}_upstream"
        database_url = _upstream_database(name, create=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smsbox.settings",
        "DATABASE_URL": database_url,
        "SMSBOX_VAR_DIR": str(tmp_path_factory.mktemp("upstream_var")),
        "SECRET_KEY": "upstream-smsbox-test-secret",
    }
    # Without REDIS_URL the upstream keeps its cache in its own directory: nothing it caches
    # (API key checks, breakers) can leak between runs or into this smsbox.
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (
        ["migrate", "--no-input"],
        ["seed_demo", "--api-key", UPSTREAM_KEY, "--sms-delay", "1"],
    ):
        subprocess.run(
            [*manage, *command], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300
        )
    port = _free_port()
    # Its Celery worker (file-system broker) sends the simulator's SMS a second after a sale.
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "smsbox",
            "worker",
            "--pool",
            "solo",
            "-l",
            "WARNING",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload", "--nothreading"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/stubs/handler_api.php"
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=30)
        with django_db_blocker.unblock():
            _upstream_database(name, create=False)


def test_smsbox_buys_from_another_smsbox(upstream_smsbox):
    provider = ProviderFactory(
        protocol="sms_activate",
        base_url=upstream_smsbox,
        api_key=UPSTREAM_KEY,
        timeout=Decimal("20"),
    )
    adapter = adapter_for(provider)
    tg, usa = Service.objects.get(code="tg"), Country.objects.get(sms_activate_id=187)

    balance = adapter.balance()
    assert balance > 0
    assert offers_sync(provider=provider).upserted > 0

    bought = adapter.buy(service=tg, country=usa)
    assert bought.phone.startswith("1") and bought.cost > 0
    status = adapter.status(upstream_id=bought.upstream_id)
    for _ in range(150):  # the upstream's worker delivers the simulator's SMS after a second
        if status.state == UpstreamStatus.RECEIVED:
            break
        time.sleep(0.2)
        status = adapter.status(upstream_id=bought.upstream_id)
    assert status.state == UpstreamStatus.RECEIVED and status.code.isdigit()
    adapter.finish(upstream_id=bought.upstream_id)
    assert adapter.balance() == balance - bought.cost

    provider.api_key = "wrong"
    with pytest.raises(BadCredentials):
        adapter_for(provider).balance()
