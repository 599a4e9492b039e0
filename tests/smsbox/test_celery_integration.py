"""A real Celery worker and beat, as subprocesses, against Redis and the test database."""

import email
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from smsbox.celery import app
from smsbox.models import JobRun, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
DEADLINE = 90  # seconds: generous for a slow machine; the tests poll, they do not time


@pytest.fixture
def worker_env(tmp_path) -> dict[str, str]:
    """The environment of the subprocesses: this test's database and Redis db, flushed."""
    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL")
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smsbox.settings",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "CONN_MAX_AGE": "0",
        "REDIS_URL": settings.REDIS_URL,
        "SMSBOX_VAR_DIR": str(tmp_path / "var"),
        "SECRET_KEY": "integration-test-secret",
        "DEBUG": "true",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "SMSBOX_JOB_BATCH_SIZE": "5",
        "PYTHONPATH": str(ROOT),
    }
    yield env
    redis.Redis.from_url(settings.REDIS_URL).flushdb()


@contextmanager
def celery(*args: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """Run ``celery -A smsbox <args>`` and always stop it, however the test ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CELERY, "-A", "smsbox", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def worker(name: str, env: dict[str, str], tmp_path: Path, queues: str = "celery"):
    return celery(
        "worker",
        f"--hostname={name}@%h",
        f"--queues={queues}",
        "--pool=prefork",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
        env=env,
        log=tmp_path / f"{name}.log",
    )


def wait_for(condition: Callable[[], bool], what: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        close_old_connections()
        if condition():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"gave up waiting for {what}\n{tails}")


def wait_for_workers(names: list[str], logs: list[Path]) -> None:
    def ready() -> bool:
        replies = app.control.ping(timeout=1.0) or []
        answered = {host.split("@")[0] for reply in replies for host in reply}
        return set(names) <= answered

    wait_for(ready, f"workers {names}", logs)


def test_beat_schedules_a_periodic_job_that_a_worker_runs(worker_env, tmp_path):
    # given an unverified account past the window, and the job due every second
    stale = UserFactory(
        is_verified=False, verified_at=None, created_at=timezone.now() - timedelta(days=30)
    )
    fresh = UserFactory(is_verified=False, verified_at=None)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.exclude(name="smsbox.tasks.accounts_delete_unverified").update(
        enabled=False
    )
    PeriodicTask.objects.update_or_create(
        name="smsbox.tasks.accounts_delete_unverified",
        defaults={
            "task": "smsbox.tasks.accounts_delete_unverified",
            "interval": every_second,
            "enabled": True,
        },
    )
    logs = [tmp_path / "beat-worker.log", tmp_path / "beat.log"]

    # when beat and a worker run
    with ExitStack() as stack:
        stack.enter_context(worker("beat-worker", worker_env, tmp_path))
        stack.enter_context(
            celery(
                "beat",
                "--loglevel=INFO",
                f"--schedule={tmp_path / 'beat-schedule'}",
                env=worker_env,
                log=logs[1],
            )
        )
        wait_for(
            lambda: JobRun.objects.filter(
                name="accounts.delete_unverified", status=JobRun.Status.OK, rows=1
            ).exists(),
            "the periodic job to delete the stale account",
            logs,
        )

    # then the stale account is gone, the fresh one stays, and the run is in the history
    assert not User.objects.filter(pk=stale.pk).exists()
    assert User.objects.filter(pk=fresh.pk).exists()
    run = JobRun.objects.filter(name="accounts.delete_unverified", rows=1).first()
    assert run.hostname.startswith("beat-worker@")


def sent_notices(mail_dir: Path) -> Counter:
    recipients: Counter = Counter()
    for path in mail_dir.glob("*.log") if mail_dir.exists() else []:
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                recipients[email.message_from_string(chunk.strip())["To"]] += 1
    return recipients


def test_one_sweep_on_two_workers_handles_every_row_exactly_once(worker_env, tmp_path):
    # given accounts that are each due one inactivity notice
    n = 150
    seen = timezone.now() - timedelta(days=settings.SMSBOX_INACTIVE_ACCOUNT_DAYS - 20)
    users = UserFactory.build_batch(n, last_activity_at=seen)
    User.objects.bulk_create(users)
    logs = [tmp_path / "wa.log", tmp_path / "wb.log"]

    # when two workers run the sweep at the same time, one each
    with ExitStack() as stack:
        stack.enter_context(worker("wa", worker_env, tmp_path, queues="celery,wa"))
        stack.enter_context(worker("wb", worker_env, tmp_path, queues="celery,wb"))
        wait_for_workers(["wa", "wb"], logs)
        for queue in ("wa", "wb"):
            app.send_task("smsbox.tasks.accounts_notify_inactive", queue=queue)
        wait_for(
            lambda: JobRun.objects.filter(
                name="accounts.notify_inactive", finished_at__isnull=False
            ).count()
            == 2,
            "both sweeps to finish",
            logs,
        )

    # then every account got exactly one notice, and the two runs add up to all of them
    runs = JobRun.objects.filter(name="accounts.notify_inactive")
    assert {run.hostname.split("@")[0] for run in runs} == {"wa", "wb"}
    assert all(run.status == JobRun.Status.OK and run.errors == 0 for run in runs)
    assert sum(run.rows for run in runs) == n
    recipients = sent_notices(tmp_path / "mail")
    assert set(recipients) == {user.email for user in users}
    assert set(recipients.values()) == {1}
    assert User.objects.filter(inactivity_notice_days=30).count() == n
