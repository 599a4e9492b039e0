"""Beat schedules of the providers jobs (admin: Periodic tasks, keyed by task name)."""

from django.db import migrations

from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation

JOBS = [
    PeriodicJob(
        task="providers.tasks.offers_sync_all",
        every=5,
        period="minutes",
        description="Refresh every enabled provider's offers: prices and stock.",
    ),
    PeriodicJob(
        task="providers.tasks.simulator_deliver_due_all",
        every=30,
        period="seconds",
        description="Deliver simulator SMS whose scheduled delivery was lost (worker restart).",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0003_providers_offers_rules_attempts"),
        BEAT_DEPENDENCY,
    ]

    operations = [periodic_jobs_operation(JOBS)]
