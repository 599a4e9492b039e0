"""The operator roles as groups (README "Operators"), created by
``rentals/migrations/0011_backoffice_roles``.

* Support: reads everything but credentials (providers' and processors' settings, staff
  security, roles), refunds orders, adjusts balances up to SMSBOX_SUPPORT_ADJUST_LIMIT, blocks
  and unblocks, resends verification e-mails, writes notes.
* Finance: what Support reads, adjustments of any size and their approval, tier changes,
  reports, top-ups (asking the processor again, crediting by hand: ``wallets.change_topup``).
* Owner: every permission that exists when the roles are synced (providers, price rules,
  processors, roles, deletions).
"""

from django.contrib.auth.management import create_permissions

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
# Permissions of other apps, as "app_label.codename".
FINANCE_EXTRA = ["wallets.change_topup"]
ROLES = {"Support": SUPPORT, "Finance": FINANCE}
EXTRA = {"Support": [], "Finance": FINANCE_EXTRA}


def _all_permissions(apps):
    for app_config in apps.get_app_configs():
        # A migration's app configs have no models module, which create_permissions skips.
        module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = module
    return apps.get_model("auth", "Permission")


def roles_sync(*, apps) -> None:
    """Create the groups and give them their permissions (again); ``apps`` is a migration's
    app registry or Django's own."""
    Permission = _all_permissions(apps)
    Group = apps.get_model("auth", "Group")
    # A model's own view permission only: "smsbox.view_reports" also starts with "view_" and
    # is Finance's.
    views = [
        p
        for p in Permission.objects.filter(codename__startswith="view_").select_related(
            "content_type"
        )
        if p.codename == f"view_{p.content_type.model}"
        and (p.content_type.app_label, p.content_type.model) not in CREDENTIALS
    ]
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        own = Permission.objects.filter(content_type__app_label="smsbox", codename__in=codenames)
        group.permissions.set([*views, *own, *_named(Permission, EXTRA[name])])
    owner, _ = Group.objects.get_or_create(name="Owner")
    owner.permissions.set(Permission.objects.all())


def _named(Permission, names: list[str]) -> list:
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found += Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return found


def roles_remove(*, apps) -> None:
    apps.get_model("auth", "Group").objects.filter(name__in=[*ROLES, "Owner"]).delete()
