"""Sync the operator roles again: Finance gets the top-ups (``wallets.change_topup``), and the
Owner every permission of the models added since ``0011_backoffice_roles``."""

from django.db import migrations

from rentals.backoffice.roles import roles_sync


def roles_resync(apps, schema_editor):
    roles_sync(apps=apps)


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0018_rental_abandoned"),
        ("smsbox", "0006_dashboard_session_epoch"),
        ("wallets", "0005_backoffice_adjustment_requests"),
    ]

    operations = [migrations.RunPython(roles_resync, migrations.RunPython.noop)]
