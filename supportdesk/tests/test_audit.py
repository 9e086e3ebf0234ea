import pytest
from django.db import DatabaseError, connection, transaction

from supportdesk.audit import audit_record
from supportdesk.models import AuditLog, AuditLogImmutable

pytestmark = pytest.mark.django_db


def make_row() -> AuditLog:
    return audit_record(actor="system:test", action="probe", entity_type="order", entity_id="BF-1")


def test_audit_rows_refuse_update_and_delete_through_the_orm():
    row = make_row()
    row.action = "rewritten"
    with pytest.raises(AuditLogImmutable):
        row.save()
    with pytest.raises(AuditLogImmutable):
        row.delete()
    with pytest.raises(AuditLogImmutable):
        AuditLog.objects.filter(pk=row.pk).update(action="rewritten")
    with pytest.raises(AuditLogImmutable):
        AuditLog.objects.filter(pk=row.pk).delete()
    assert AuditLog.objects.get(pk=row.pk).action == "probe"


@pytest.mark.postgres
def test_database_refuses_raw_update_and_delete_on_postgresql():
    row = make_row()
    for sql in (
        "UPDATE supportdesk_auditlog SET action = 'x' WHERE id = %s",
        "DELETE FROM supportdesk_auditlog WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [row.pk])
    assert AuditLog.objects.get(pk=row.pk).action == "probe"


def test_audit_record_truncates_and_keeps_fields():
    row = audit_record(
        actor="staff:" + "a" * 200,
        action="order_status_changed",
        entity_type="order",
        entity_id="BF-20261124-ABCDEF",
        old_value={"status": "PENDING_PAYMENT"},
        new_value={"status": "PAID"},
        correlation_id="BF-20261124-ABCDEF",
        ip_address="203.0.113.7",
    )
    row.refresh_from_db()
    assert len(row.actor) == 150
    assert row.new_value == {"status": "PAID"}
    assert row.ip_address == "203.0.113.7"
