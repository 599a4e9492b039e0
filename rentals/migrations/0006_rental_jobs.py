"""Beat schedules of the long-term rental jobs (admin: Periodic tasks, keyed by task name)."""

from django.db import migrations

from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation

JOBS = [
    PeriodicJob(
        task="rentals.tasks.rentals_renew",
        every=1,
        period="minutes",
        description="Auto-renew rentals that expire within the lead time (retried until expiry).",
    ),
    PeriodicJob(
        task="rentals.tasks.rentals_expire",
        every=1,
        period="minutes",
        description="Expire rentals whose time is over.",
    ),
    PeriodicJob(
        task="rentals.tasks.rentals_poll",
        every=1,
        period="minutes",
        description="Ask the upstream providers for the SMS of active rentals.",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0005_rentals_plans_renewals"),
        BEAT_DEPENDENCY,
    ]

    operations = [periodic_jobs_operation(JOBS)]
