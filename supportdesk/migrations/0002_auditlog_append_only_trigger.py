"""On PostgreSQL the audit table refuses UPDATE and DELETE at the database level too, so even a
raw SQL session cannot rewrite history. (SQLite, the dev default, relies on the model guard.)"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION supportdesk_auditlog_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'supportdesk_auditlog is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER supportdesk_auditlog_append_only
BEFORE UPDATE OR DELETE ON supportdesk_auditlog
FOR EACH ROW EXECUTE FUNCTION supportdesk_auditlog_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS supportdesk_auditlog_append_only ON supportdesk_auditlog;
DROP FUNCTION IF EXISTS supportdesk_auditlog_append_only();
"""


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("supportdesk", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
