"""The operator roles as groups (README "Operators"), and the back office's periodic jobs.

* Support: reads everything but credentials (providers' and processors' settings, staff
  security), refunds orders, adjusts balances up to SMSBOX_SUPPORT_ADJUST_LIMIT, blocks and
  unblocks, resends verification e-mails, writes notes.
* Finance: what Support reads, adjustments of any size and their approval, tier changes,
  reports.
* Owner: every permission (providers, price rules, processors, roles, deletions).
"""

from django.db import migrations

from rentals.backoffice.roles import roles_remove, roles_sync
from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation


def roles_create(apps, schema_editor):
    roles_sync(apps=apps)


def roles_delete(apps, schema_editor):
    roles_remove(apps=apps)


JOBS = [
    PeriodicJob(
        task="rentals.tasks.backoffice_alerts",
        every=1,
        period="minutes",
        description="Operator alerts: provider runway, breaker open, success rate (once each).",
    ),
    PeriodicJob(
        task="rentals.tasks.backoffice_abuse",
        every=5,
        period="minutes",
        description="Abuse rule: suspend purchases under SMSBOX_ABUSE_SUCCESS_RATE (if set).",
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0009_open_order_indexes"),
        ("smsbox", "0005_backoffice_audit"),
        ("wallets", "0005_backoffice_adjustment_requests"),
        ("apikeys", "0001_initial"),
        ("providers", "0007_dialects_catalog_ids"),
        ("otp_totp", "0003_add_timestamps"),
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        BEAT_DEPENDENCY,
    ]

    operations = [
        migrations.RunPython(roles_create, roles_delete),
        periodic_jobs_operation(JOBS),
    ]
