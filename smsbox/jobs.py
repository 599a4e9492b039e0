"""Job history: every periodic job of smsbox records its runs as ``JobRun`` rows.

Wrap the service call of a periodic task::

    @shared_task
    def activations_expire() -> int:
        with tracked_job("rentals.expire_activations") as job:
            job.rows += activations_expire_due()       # rows the job changed
        return job.rows

or decorate a function that answers how many rows it changed::

    @shared_task
    @tracked_job("rentals.expire_activations")
    def activations_expire() -> int:
        return activations_expire_due()

A row-level failure that the job survives is counted with ``job.fail(row_id, exc)``; an
exception that escapes marks the run failed, keeps its traceback and is raised again. Operators
see the runs in the admin (Accounts > Job runs), with the last run of every job on top.
"""

import functools
import logging
import socket
import traceback
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.utils import timezone

from smsbox.models import JobRun

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_ERROR_TEXT_LIMIT = 10_000


class tracked_job:
    """Record one run of the job ``name``: start, end, rows touched, errors, worker host."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = 0
        self.run: JobRun | None = None
        self._errors: list[str] = []

    def fail(self, row: object, exc: BaseException) -> None:
        """Note a row the job could not handle and went on without."""
        logger.warning("job %s: row %s failed: %r", self.name, row, exc)
        self._errors.append(f"{row}: {type(exc).__name__}: {exc}")

    def __enter__(self) -> "tracked_job":
        self.rows = 0
        self._errors = []
        self.run = JobRun.objects.create(name=self.name, hostname=_hostname())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.run is not None
        text = "\n".join(self._errors)
        if exc is not None:
            text = "".join(traceback.format_exception(exc_type, exc, tb)) + text
        self.run.status = JobRun.Status.FAILED if exc is not None else JobRun.Status.OK
        self.run.finished_at = timezone.now()
        self.run.rows = self.rows
        self.run.errors = len(self._errors) + (1 if exc is not None else 0)
        self.run.error = text[:_ERROR_TEXT_LIMIT]
        self.run.save(update_fields=["status", "finished_at", "rows", "errors", "error"])

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        name = self.name

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with tracked_job(name) as job:
                result = func(*args, **kwargs)
                if isinstance(result, int) and not isinstance(result, bool):
                    job.rows += result
            return result

        return wrapper


def job_runs_prune(*, now: Any = None) -> int:
    """Delete job history older than ``SMSBOX_JOB_HISTORY_DAYS``; answers how many rows."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SMSBOX_JOB_HISTORY_DAYS)
    deleted, _ = JobRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted


def _hostname() -> str:
    from celery import current_task

    task = current_task._get_current_object() if current_task else None
    hostname = getattr(getattr(task, "request", None), "hostname", None)
    return (hostname or socket.gethostname())[:255]
