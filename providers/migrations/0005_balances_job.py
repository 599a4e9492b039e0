"""The periodic job that fills the cached upstream balances the provider list shows."""

from django.db import migrations

from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation

JOBS = [
    PeriodicJob(
        task="providers.tasks.balances_refresh_all",
        every=2,
        period="minutes",
        description="Ask every enabled provider for our balance (the provider list shows it).",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0004_periodic_jobs"),
        BEAT_DEPENDENCY,
    ]

    operations = [periodic_jobs_operation(JOBS)]
