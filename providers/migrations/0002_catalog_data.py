"""Load the real SMS-Activate catalog (countries, services, operators) of providers.catalog_data."""

from django.db import migrations

from providers.catalog import catalog_upsert


def load_catalog(apps, schema_editor):
    catalog_upsert(
        apps.get_model("providers", "Country"),
        apps.get_model("providers", "Service"),
        apps.get_model("providers", "Operator"),
        using=schema_editor.connection.alias,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("providers", "0001_catalog"),
    ]

    operations = [
        migrations.RunPython(load_catalog, migrations.RunPython.noop),
    ]
