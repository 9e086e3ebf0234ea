"""Drop the `varchar_pattern_ops` copies Django adds beside the index of every indexed or unique
CharField on PostgreSQL (`<name>_like`): they serve only `LIKE 'prefix%'` (startswith) under a
non-C collation, and nothing here searches these columns that way (support's search is equality
on normalised keys, `supportdesk.selectors.order_ids_matching`; `icontains` cannot use a btree
at all). Each one is written on every insert and on every update that is not HOT: a settlement
wrote 22 of them (issue 16). The tables of the payment path only; `orders/tests/test_indexes.py`
fails if a later migration brings one back. Reversing leaves them dropped (nothing reads them)."""

from django.db import migrations

TABLES = (
    "orders_order",
    "payments_paymentattempt",
    "payments_paymentevent",
    "notifications_notificationoutbox",
    "courses_entitlement",
    "courses_loginlink",
    "supportdesk_auditlog",
)

PATTERN_OPS_INDEXES = """
SELECT i.indexrelid::regclass::text FROM pg_index i
WHERE i.indrelid::regclass::text = ANY (%s)
  AND NOT i.indisunique
  AND pg_get_indexdef(i.indexrelid) LIKE '%%varchar_pattern_ops)'
"""


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(PATTERN_OPS_INDEXES, [list(TABLES)])
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_hourly_jobs_read_changes"),
        ("payments", "0005_paymentevent_drop_dead_state"),
        ("notifications", "0009_outbox_claimable_index"),
        ("courses", "0006_lesson_progress_and_video"),
        ("supportdesk", "0010_hourly_jobs_read_changes"),
    ]

    operations = [migrations.RunPython(drop, migrations.RunPython.noop, elidable=False)]
