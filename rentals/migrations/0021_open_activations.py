"""A row per customer with how many activations they have open, kept by triggers (PostgreSQL).

The purchase's concurrency limit read the customer's open activations by counting them: its
cost grew with how many they had open (1.2 ms at 3 000). Three row triggers on
``rentals_activation`` (insert, change of state or owner, delete) add or take one in the same
statement; their WHEN clauses skip a write that leaves openness alone (step 3 of the purchase,
an SMS). The counts are filled from the activations under a lock that holds their writers off."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Activation.OPEN_STATES when this was written.
OPEN = "('processing', 'unknown', 'waiting', 'received', 'resend')"

FORWARD = f"""
CREATE FUNCTION rentals_open_activations_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state IN {OPEN} THEN
        UPDATE rentals_openactivations SET open_count = open_count - 1
        WHERE user_id = OLD.user_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state IN {OPEN} THEN
        INSERT INTO rentals_openactivations (user_id, open_count) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id)
        DO UPDATE SET open_count = rentals_openactivations.open_count + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER open_activations_insert AFTER INSERT ON rentals_activation
    FOR EACH ROW
    WHEN (NEW.state IN {OPEN})
    EXECUTE FUNCTION rentals_open_activations_keep();
CREATE TRIGGER open_activations_update AFTER UPDATE OF state, user_id
    ON rentals_activation FOR EACH ROW
    WHEN ((OLD.state IN {OPEN}) IS DISTINCT FROM (NEW.state IN {OPEN})
        OR (OLD.user_id <> NEW.user_id AND NEW.state IN {OPEN}))
    EXECUTE FUNCTION rentals_open_activations_keep();
CREATE TRIGGER open_activations_delete AFTER DELETE ON rentals_activation
    FOR EACH ROW
    WHEN (OLD.state IN {OPEN})
    EXECUTE FUNCTION rentals_open_activations_keep();
LOCK TABLE rentals_activation IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO rentals_openactivations (user_id, open_count)
SELECT user_id, count(*) FROM rentals_activation WHERE state IN {OPEN} GROUP BY user_id;
"""  # noqa: S608 (constants)

BACKWARD = """
DROP TRIGGER open_activations_insert ON rentals_activation;
DROP TRIGGER open_activations_update ON rentals_activation;
DROP TRIGGER open_activations_delete ON rentals_activation;
DROP FUNCTION rentals_open_activations_keep();
"""


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("rentals", "0020_backoffice_report_days"),
        ("smsbox", "0007_deferred_tasks"),
    ]

    operations = [
        migrations.CreateModel(
            name="OpenActivations",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("open_count", models.PositiveIntegerField(default=0)),
            ],
            options={"verbose_name_plural": "open activations"},
        ),
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD)),
    ]
