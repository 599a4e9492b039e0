"""The periodic-job helper for migrations, and the schedule the smsbox migration creates."""

import json

import pytest
from django.apps import apps as global_apps
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from smsbox.beat import PeriodicJob, periodic_jobs_schedule, periodic_jobs_unschedule

pytestmark = pytest.mark.django_db

JOB = PeriodicJob(task="tests.tasks.sweep", every=30, description="A sweep.", kwargs={"n": 1})


def test_the_migration_scheduled_the_account_lifecycle_jobs():
    tasks = {t.name: t for t in PeriodicTask.objects.filter(name__startswith="smsbox.tasks.")}
    assert set(tasks) >= {
        "smsbox.tasks.accounts_delete_unverified",
        "smsbox.tasks.accounts_notify_inactive",
        "smsbox.tasks.accounts_delete_inactive",
        "smsbox.tasks.job_runs_prune",
    }
    unverified = tasks["smsbox.tasks.accounts_delete_unverified"]
    assert unverified.enabled
    assert unverified.task == "smsbox.tasks.accounts_delete_unverified"
    assert (unverified.interval.every, unverified.interval.period) == (1, "hours")


def test_the_scheduled_task_names_are_registered_with_celery():
    from smsbox.celery import app

    app.loader.import_default_modules()
    for task in PeriodicTask.objects.filter(name__startswith="smsbox.tasks."):
        assert task.task in app.tasks


def test_scheduling_is_idempotent_and_updates_by_task_name():
    periodic_jobs_schedule(global_apps, [JOB])
    periodic_jobs_schedule(global_apps, [JOB])
    assert PeriodicTask.objects.filter(name=JOB.task).count() == 1

    changed = PeriodicJob(task=JOB.task, every=5, period="minutes", description="Faster.")
    periodic_jobs_schedule(global_apps, [changed])

    task = PeriodicTask.objects.get(name=JOB.task)
    assert (task.interval.every, task.interval.period) == (5, "minutes")
    assert task.description == "Faster."
    assert json.loads(task.kwargs) == {}
    assert PeriodicTasks.last_change() is not None


def test_an_operator_switching_a_job_off_survives_a_later_schedule():
    periodic_jobs_schedule(global_apps, [JOB])
    PeriodicTask.objects.filter(name=JOB.task).update(enabled=False)
    periodic_jobs_schedule(global_apps, [JOB])
    assert not PeriodicTask.objects.get(name=JOB.task).enabled


def test_a_job_can_start_disabled():
    periodic_jobs_schedule(global_apps, [PeriodicJob(task="tests.off", every=1, enabled=False)])
    assert not PeriodicTask.objects.get(name="tests.off").enabled


def test_unscheduling_deletes_the_tasks_and_keeps_shared_intervals():
    periodic_jobs_schedule(global_apps, [JOB])
    periodic_jobs_unschedule(global_apps, [JOB])
    assert not PeriodicTask.objects.filter(name=JOB.task).exists()
    assert IntervalSchedule.objects.filter(every=30, period="seconds").exists()


def test_bad_periods_are_refused():
    with pytest.raises(ValueError, match="period"):
        PeriodicJob(task="x", every=1, period="weeks")
    with pytest.raises(ValueError, match="every"):
        PeriodicJob(task="x", every=0)
