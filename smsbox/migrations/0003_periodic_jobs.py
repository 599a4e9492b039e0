from django.db import migrations

from smsbox.beat import PeriodicJob, periodic_jobs_operation

JOBS = [
    PeriodicJob(
        task="smsbox.tasks.accounts_delete_unverified",
        every=1,
        period="hours",
        description="Delete unverified accounts older than SMSBOX_UNVERIFIED_ACCOUNT_DAYS.",
    ),
    PeriodicJob(
        task="smsbox.tasks.accounts_notify_inactive",
        every=1,
        period="hours",
        description="Send inactivity notices SMSBOX_INACTIVITY_NOTICE_DAYS before deletion.",
    ),
    PeriodicJob(
        task="smsbox.tasks.accounts_delete_inactive",
        every=1,
        period="hours",
        description="Delete accounts inactive for SMSBOX_INACTIVE_ACCOUNT_DAYS (after notices).",
    ),
    PeriodicJob(
        task="smsbox.tasks.job_runs_prune",
        every=1,
        period="days",
        description="Forget job history older than SMSBOX_JOB_HISTORY_DAYS.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("smsbox", "0002_lifecycle_and_job_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [periodic_jobs_operation(JOBS)]
