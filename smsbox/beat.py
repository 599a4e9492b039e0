"""Periodic jobs as data: create the django-celery-beat schedule of an app in its own migration.

Every periodic job of smsbox is a ``django_celery_beat.PeriodicTask`` row, created by a data
migration of the app that owns the task, so a fresh database schedules everything and operators
can change the interval or switch a job off in the admin (Periodic tasks). Beat runs with the
database scheduler (``CELERY_BEAT_SCHEDULER``) and picks changes up on its own.

Usage, in ``<app>/migrations/000N_periodic_jobs.py``::

    from django.db import migrations

    from smsbox.beat import PeriodicJob, periodic_jobs_operation

    JOBS = [
        PeriodicJob(
            task="rentals.tasks.activations_expire",     # the Celery task name
            every=30,                                    # seconds (or period="minutes" …)
            description="Expire activations that got no SMS in time and refund them.",
        ),
    ]

    class Migration(migrations.Migration):
        dependencies = [
            ("rentals", "0003_…"),
            ("django_celery_beat", "0019_alter_periodictasks_options"),
        ]
        operations = [periodic_jobs_operation(JOBS)]

Write the jobs literally in the migration (do not import them from app code that may change).
Rows are keyed by task name (``PeriodicTask.name == task``): applying the operation creates or
updates them (the interval, description, arguments, queue; ``enabled`` only when a row is new, so
an operator's decision to switch a job off survives a later migration) and unapplying it deletes
them. Intervals are shared rows (one ``IntervalSchedule`` per every/period pair).
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import migrations
from django.utils import timezone

BEAT_DEPENDENCY = ("django_celery_beat", "0019_alter_periodictasks_options")

PERIODS = ("days", "hours", "minutes", "seconds", "microseconds")


@dataclass(frozen=True)
class PeriodicJob:
    """One periodic task: the Celery ``task`` name, run ``every`` ``period`` units."""

    task: str
    every: int
    period: str = "seconds"
    description: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.period not in PERIODS:
            raise ValueError(f"period must be one of {PERIODS}, not {self.period!r}")
        if self.every < 1:
            raise ValueError("every must be at least 1")


def periodic_jobs_schedule(apps: Any, jobs: Iterable[PeriodicJob]) -> None:
    """Create or update the ``PeriodicTask`` row of every job (idempotent)."""
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    for job in jobs:
        interval, _ = interval_model.objects.get_or_create(every=job.every, period=job.period)
        _, created = task_model.objects.update_or_create(
            name=job.task,
            defaults={
                "task": job.task,
                "interval": interval,
                "crontab": None,
                "solar": None,
                "clocked": None,
                "description": job.description,
                "kwargs": json.dumps(job.kwargs, sort_keys=True),
                "queue": job.queue,
            },
        )
        if created and not job.enabled:
            task_model.objects.filter(name=job.task).update(enabled=False)
    _mark_changed(apps)


def periodic_jobs_unschedule(apps: Any, jobs: Iterable[PeriodicJob]) -> None:
    """Delete the ``PeriodicTask`` rows of ``jobs`` (their intervals may be shared and stay)."""
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    task_model.objects.filter(name__in=[job.task for job in jobs]).delete()
    _mark_changed(apps)


def periodic_jobs_operation(jobs: Sequence[PeriodicJob]) -> migrations.RunPython:
    """A migration operation that schedules ``jobs`` and, reversed, unschedules them."""
    jobs = tuple(jobs)

    def forward(apps: Any, schema_editor: Any) -> None:
        periodic_jobs_schedule(apps, jobs)

    def backward(apps: Any, schema_editor: Any) -> None:
        periodic_jobs_unschedule(apps, jobs)

    return migrations.RunPython(forward, backward)


def _mark_changed(apps: Any) -> None:
    # Historical models send no signals: tell a running beat that the schedule changed.
    tracker = apps.get_model("django_celery_beat", "PeriodicTasks")
    tracker.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})
