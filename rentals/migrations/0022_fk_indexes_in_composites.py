"""Indexes that cost every write of an activation and served no query: the one on ``user`` alone
(every lookup by customer uses (user, created_at) or the partial ones that start with it), and
the ``varchar_pattern_ops`` copies PostgreSQL gets of unique text columns, for ``LIKE 'x%'``,
which nothing asks of ``phone``, ``display_number`` or ``binding_key`` (the back office searches
with ``icontains``, which no b-tree serves)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

LIKE = {
    "rentals_activation_binding_key_e3810797_like": "binding_key",
    "rentals_activation_display_number_96a9f584_like": "display_number",
    "rentals_activation_phone_33a5f2d8_like": "phone",
}


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in LIKE.items():
            schema_editor.execute(
                f"CREATE INDEX {name} ON rentals_activation ({column} varchar_pattern_ops)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0021_open_activations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="activation",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="activations",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(_drop, _create),
    ]
