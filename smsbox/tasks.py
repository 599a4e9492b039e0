"""Periodic jobs of the accounts app. Thin: each calls one service, which records its run."""

from celery import shared_task

from smsbox import jobs, lifecycle


@shared_task(name="smsbox.tasks.accounts_delete_unverified", acks_late=True)
def accounts_delete_unverified() -> int:
    return lifecycle.accounts_delete_unverified()


@shared_task(name="smsbox.tasks.accounts_notify_inactive", acks_late=True)
def accounts_notify_inactive() -> int:
    return lifecycle.accounts_notify_inactive()


@shared_task(name="smsbox.tasks.accounts_delete_inactive", acks_late=True)
def accounts_delete_inactive() -> int:
    return lifecycle.accounts_delete_inactive()


@shared_task(name="smsbox.tasks.job_runs_prune", acks_late=True)
@jobs.tracked_job("smsbox.job_runs_prune")
def job_runs_prune() -> int:
    return jobs.job_runs_prune()


@shared_task(name="smsbox.tasks.deferred_tasks_flush", acks_late=True, time_limit=120)
def deferred_tasks_flush() -> int:
    from smsbox.outbox import deferred_tasks_flush as flush

    return flush()
