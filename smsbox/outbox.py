"""Enqueue a Celery task without depending on the broker being up.

``task_enqueue(task, *args)`` publishes the task; when the broker cannot be reached (Redis
stopped or paused), the task is stored as a ``DeferredTask`` row instead and the request goes on:
what the task is about is already committed. ``deferred_tasks_flush`` (the periodic job
``smsbox.tasks.deferred_tasks_flush``) publishes the stored tasks once the broker answers again.
While the cache's Redis is known to be down (``smsbox.cache.redis_down``) and the broker is that
same Redis, the publish is not even tried, so a request never waits for a dead broker.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from smsbox.cache import redis_down
from smsbox.jobs import tracked_job
from smsbox.models import DeferredTask

logger = logging.getLogger(__name__)

# One quick retry (a stale pooled connection after Redis came back), then the outbox.
_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
_ERROR_TEXT_LIMIT = 2000
FLUSH_BATCH = 200


def task_enqueue(task: Any, *args: Any, countdown: float | None = None, **kwargs: Any) -> bool:
    """Publish ``task`` (a Celery task or its name) with ``args``/``kwargs``, or keep it in the
    outbox when the broker is unreachable. Answers whether it was published now."""
    name = task if isinstance(task, str) else task.name
    eta = timezone.now() + timedelta(seconds=countdown) if countdown else None
    if not _broker_known_down():
        try:
            _publish(name, list(args), kwargs, eta)
            return True
        except Exception as exc:  # kombu's OperationalError, redis-py's errors, a timeout
            logger.warning("task %s not published (%s); kept in the outbox", name, exc)
            error = f"{type(exc).__name__}: {exc}"
    else:
        error = "Redis unreachable"
    DeferredTask.objects.create(
        task=name, args=list(args), kwargs=kwargs, eta=eta, last_error=error[:_ERROR_TEXT_LIMIT]
    )
    return False


def deferred_tasks_flush(*, batch: int = FLUSH_BATCH) -> int:
    """Publish the outbox's tasks, oldest first, deleting each one sent; stops at the first the
    broker refuses (it is still down). Safe on several workers at once (rows are claimed with
    ``SKIP LOCKED``). Answers how many were published."""
    sent = 0
    with tracked_job("smsbox.deferred_tasks_flush") as job:
        while True:
            published, more = _flush_batch(batch)
            sent += published
            job.rows = sent
            if not more:
                return sent


def _flush_batch(batch: int) -> tuple[int, bool]:
    """One batch in one transaction; answers (published, whether to go on)."""
    published = 0
    with transaction.atomic():
        rows = list(DeferredTask.objects.select_for_update(skip_locked=True).order_by("id")[:batch])
        for row in rows:
            try:
                _publish(row.task, row.args, row.kwargs, row.eta)
            except Exception as exc:
                DeferredTask.objects.filter(pk=row.pk).update(
                    attempts=row.attempts + 1,
                    last_error=f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT_LIMIT],
                )
                return published, False
            row.delete()
            published += 1
    return published, len(rows) == batch


def _publish(name: str, args: list, kwargs: dict, eta: datetime | None) -> None:
    options: dict[str, Any] = {"retry": True, "retry_policy": _RETRY_POLICY}
    if eta is not None and eta > timezone.now():
        options["eta"] = eta
    task = current_app.tasks.get(name)
    if task is not None:
        task.apply_async(args, kwargs, **options)
    else:  # not imported in this process (e.g. a task of an app the flush does not load)
        current_app.send_task(name, args=args, kwargs=kwargs, **options)


def _broker_known_down() -> bool:
    broker = current_app.conf.broker_url or ""
    return (
        broker.startswith(("redis://", "rediss://"))
        and broker == settings.REDIS_URL
        and (redis_down())
    )
