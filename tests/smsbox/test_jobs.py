"""Job history: tracked_job as a context manager and as a decorator; pruning; the admin list."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from smsbox.jobs import job_runs_prune, tracked_job
from smsbox.models import JobRun
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def test_a_run_records_its_rows_and_end():
    with tracked_job("test.sweep") as job:
        job.rows += 5
    run = JobRun.objects.get()
    assert (run.name, run.status, run.rows, run.errors, run.error) == (
        "test.sweep",
        JobRun.Status.OK,
        5,
        0,
        "",
    )
    assert run.finished_at >= run.started_at


def test_row_failures_are_counted_and_kept():
    with tracked_job("test.sweep") as job:
        job.rows += 1
        job.fail("user 7", ValueError("bad address"))
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.OK
    assert run.errors == 1
    assert "user 7: ValueError: bad address" in run.error


def test_an_escaping_exception_fails_the_run_and_is_raised_again():
    with pytest.raises(RuntimeError, match="broker down"), tracked_job("test.sweep"):
        raise RuntimeError("broker down")
    run = JobRun.objects.get()
    assert run.status == JobRun.Status.FAILED
    assert "RuntimeError: broker down" in run.error
    assert run.finished_at is not None


def test_the_decorator_records_the_returned_count():
    @tracked_job("test.decorated")
    def sweep(n: int) -> int:
        return n

    assert sweep(3) == 3
    assert sweep(4) == 4
    assert sorted(JobRun.objects.values_list("rows", flat=True)) == [3, 4]


def test_old_history_is_pruned(settings):
    settings.SMSBOX_JOB_HISTORY_DAYS = 30
    now = timezone.now()
    JobRun.objects.create(name="old", started_at=now - timedelta(days=31))
    JobRun.objects.create(name="recent", started_at=now - timedelta(days=29))
    assert job_runs_prune(now=now) == 1
    assert list(JobRun.objects.values_list("name", flat=True)) == ["recent"]


def test_the_admin_shows_the_last_run_of_every_job(client):
    now = timezone.now()
    JobRun.objects.create(name="accounts.delete_unverified", started_at=now - timedelta(hours=2))
    JobRun.objects.create(
        name="accounts.delete_unverified", started_at=now, rows=17, hostname="worker-a"
    )
    JobRun.objects.create(
        name="rentals.expire", started_at=now, status="failed", errors=1, error="boom"
    )
    client.force_login(StaffFactory())

    page = client.get(reverse("admin:smsbox_jobrun_changelist"))

    assert page.status_code == 200
    latest = {run.name: run for run in page.context["latest_runs"]}
    assert latest["accounts.delete_unverified"].rows == 17
    assert latest["rentals.expire"].error == "boom"
    assert b"Last run of every job" in page.content
    assert b"worker-a" in page.content
    run = JobRun.objects.get(name="rentals.expire")
    detail = client.get(reverse("admin:smsbox_jobrun_change", args=[run.pk]))
    assert detail.status_code == 200
    assert b"boom" in detail.content
    assert client.get(reverse("admin:smsbox_jobrun_add")).status_code == 403
