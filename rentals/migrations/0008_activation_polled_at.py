from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0007_rental_unknown_state_polled_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="activation",
            name="polled_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When a polling worker last claimed this activation to ask the upstream.",
                null=True,
                verbose_name="upstream last asked at",
            ),
        ),
        migrations.AddIndex(
            model_name="activation",
            index=models.Index(
                condition=Q(state__in=["waiting", "resend"]),
                fields=["provider", "polled_at"],
                name="activation_poll_idx",
            ),
        ),
    ]
