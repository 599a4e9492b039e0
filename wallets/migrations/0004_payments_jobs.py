"""The beat schedule of the top-up reconciliation, and PostgreSQL refusing any change to a kept
callback: they are append-only, for support."""

from django.db import migrations

from smsbox.beat import BEAT_DEPENDENCY, PeriodicJob, periodic_jobs_operation

JOBS = [
    PeriodicJob(
        task="wallets.tasks.topups_reconcile",
        every=1,
        period="minutes",
        description="Ask the payment processors about open top-ups; expire the unpaid past due.",
    ),
]

CREATE = """
CREATE OR REPLACE FUNCTION wallets_topup_callback_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'top-up callbacks are append-only: '
        || lower(TG_OP) || ' refused';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER wallets_topup_callback_append_only
BEFORE UPDATE OR DELETE ON wallets_topupcallback
FOR EACH ROW EXECUTE FUNCTION wallets_topup_callback_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS wallets_topup_callback_append_only ON wallets_topupcallback;
DROP FUNCTION IF EXISTS wallets_topup_callback_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0003_payments_models"), BEAT_DEPENDENCY]

    operations = [periodic_jobs_operation(JOBS), migrations.RunPython(forwards, backwards)]
