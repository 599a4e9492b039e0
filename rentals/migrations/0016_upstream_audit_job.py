"""The upstream audit's periodic job, and the roles' view of the orphans it records."""

from django.db import migrations

from rentals.backoffice.roles import roles_sync
from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation

JOBS = [
    PeriodicJob(
        task="rentals.tasks.upstream_audit",
        every=5,
        period="minutes",
        description="Cancel upstream orders that no activation or rental holds (orphans).",
    ),
]


def roles_refresh(apps, schema_editor):
    roles_sync(apps=apps)  # Support, Finance and Owner see the new model


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0015_abandoned_purchases_and_upstream_orphans"),
        ("rentals", "0011_backoffice_roles"),
        BEAT_DEPENDENCY,
    ]

    operations = [
        periodic_jobs_operation(JOBS),
        migrations.RunPython(roles_refresh, migrations.RunPython.noop),
    ]
