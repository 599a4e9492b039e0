"""PostgreSQL refuses any change to a ledger entry except clearing its actor (when an
operator's account is deleted) and refuses every delete: the ledger is append-only."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION wallets_ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger entries are append-only: delete refused';
    END IF;
    IF (NEW.id, NEW.wallet_id, NEW.kind, NEW.amount, NEW.balance_after, NEW.reference_kind,
        NEW.reference_id, NEW.idempotency_key, NEW.memo, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.wallet_id, OLD.kind, OLD.amount, OLD.balance_after, OLD.reference_kind,
        OLD.reference_id, OLD.idempotency_key, OLD.memo, OLD.created_at)
       OR (NEW.actor_id IS NOT NULL AND NEW.actor_id IS DISTINCT FROM OLD.actor_id) THEN
        RAISE EXCEPTION 'ledger entries are append-only: update refused';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER wallets_ledger_append_only
BEFORE UPDATE OR DELETE ON wallets_ledgerentry
FOR EACH ROW EXECUTE FUNCTION wallets_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS wallets_ledger_append_only ON wallets_ledgerentry;
DROP FUNCTION IF EXISTS wallets_ledger_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
