"""The expiry sweep claims due activations ``ORDER BY expires_at, id LIMIT n``: a partial index
over the live rows makes that a range scan that stops after the batch. It replaces the index on
(state, expires_at), which only the sweep used and which made each batch sort every due row."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("rentals", "0016_upstream_audit_job")]

    operations = [
        migrations.RemoveIndex(model_name="activation", name="activation_state_expiry_idx"),
        migrations.AddIndex(
            model_name="activation",
            index=models.Index(
                condition=models.Q(("state__in", ["waiting", "received", "resend"])),
                fields=["expires_at", "id"],
                name="activation_live_expiry_idx",
            ),
        ),
    ]
