"""Beat schedules of the activation jobs (admin: Periodic tasks, keyed by task name)."""

from django.db import migrations

from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation

JOBS = [
    PeriodicJob(
        task="rentals.tasks.activations_expire",
        every=30,
        period="seconds",
        description="Expire due activations: refund those without an SMS, complete the others.",
    ),
    PeriodicJob(
        task="rentals.tasks.activations_poll",
        every=20,
        period="seconds",
        description="Ask the upstream providers about activations still waiting for a code.",
    ),
    PeriodicJob(
        task="rentals.tasks.activations_reconcile",
        every=1,
        period="minutes",
        description="Settle purchases of unknown outcome and purchases left processing.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0003_activations_messages"),
        BEAT_DEPENDENCY,
    ]

    operations = [periodic_jobs_operation(JOBS)]
