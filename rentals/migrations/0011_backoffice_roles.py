"""The operator roles as groups (README "Operators"), and the back office's periodic jobs.

* Support: reads everything but credentials (providers' and processors' settings, staff
  security), refunds orders, adjusts balances up to SMSBOX_SUPPORT_ADJUST_LIMIT, blocks and
  unblocks, resends verification e-mails, writes notes.
* Finance: what Support reads, adjustments of any size and their approval, tier changes,
  reports.
* Owner: every permission (providers, price rules, processors, roles, deletions).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation

# Models whose rows hold credentials or staff security: Support and Finance do not see them.
CREDENTIALS = {
    ("providers", "provider"),
    ("rentals", "webhooksecret"),
    ("otp_totp", "totpdevice"),
    ("auth", "group"),
    ("auth", "permission"),
}
SUPPORT = [
    "view_customer",
    "refund_order",
    "adjust_balance",
    "block_customer",
    "resend_verification",
    "add_note",
]
FINANCE = [
    "view_customer",
    "refund_order",
    "adjust_balance",
    "adjust_balance_unlimited",
    "approve_adjustment",
    "change_tier",
    "add_note",
    "view_reports",
]
ROLES = {"Support": SUPPORT, "Finance": FINANCE}


def _all_permissions(apps):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    return apps.get_model("auth", "Permission")


def roles_create(apps, schema_editor):
    Permission = _all_permissions(apps)
    Group = apps.get_model("auth", "Group")
    views = [
        p
        for p in Permission.objects.filter(codename__startswith="view_").select_related(
            "content_type"
        )
        if (p.content_type.app_label, p.content_type.model) not in CREDENTIALS
    ]
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        own = Permission.objects.filter(content_type__app_label="smsbox", codename__in=codenames)
        group.permissions.set([*views, *own])
    owner, _ = Group.objects.get_or_create(name="Owner")
    owner.permissions.set(Permission.objects.all())


def roles_remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[*ROLES, "Owner"]).delete()


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
        ("providers", "0006_open_order_indexes"),
        ("otp_totp", "0003_add_timestamps"),
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        BEAT_DEPENDENCY,
    ]

    operations = [
        migrations.RunPython(roles_create, roles_remove),
        periodic_jobs_operation(JOBS),
    ]
