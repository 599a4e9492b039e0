"""Indexes that cost every ledger entry and served no query: the one on ``wallet`` alone (a
wallet's entries are read through (wallet, -created_at)), and the ``varchar_pattern_ops`` copy
of the unique ``idempotency_key``, for ``LIKE 'x%'``, which nothing asks."""

import django.db.models.deletion
from django.db import migrations, models

LIKE = "wallets_ledgerentry_idempotency_key_2c07628c_like"


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE}")


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {LIKE} ON wallets_ledgerentry (idempotency_key varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [("wallets", "0005_backoffice_adjustment_requests")]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="wallet",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="wallets.wallet",
            ),
        ),
        migrations.RunPython(_drop, _create),
    ]
