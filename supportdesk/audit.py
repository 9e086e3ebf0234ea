"""The audit trail's writer: a leaf module every app may import (it imports only the AuditLog
model). Every service that changes something a person may ask about later ("who did this,
when?") calls `audit_record` inside its own transaction (or gathers `audit_entry` rows and writes
them with one `audit_write`)."""

from collections.abc import Callable
from typing import Any, ParamSpec

from supportdesk.models import AuditLog

P = ParamSpec("P")
# A row of `audit_entry`, and rows gathered by a service and written together (`audit_write`).
AuditEntry = AuditLog
AuditEntries = list[AuditEntry]

SYSTEM_WEBHOOK = "system:webhook"
SYSTEM_SCHEDULER = "system:scheduler"
SYSTEM_RECONCILIATION = "system:reconciliation"
SYSTEM_CHECKOUT = "system:checkout"


def staff_actor(username: str) -> str:
    return f"staff:{username}"


def audit_entry(
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    old_value: dict[str, Any] | None = None,
    new_value: dict[str, Any] | None = None,
    correlation_id: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> AuditLog:
    """One audit row, not written yet (`audit_write` writes several in one INSERT). Callers
    must pass no secrets (keys, signatures, tokens)."""
    return AuditLog(
        actor=actor[:150],
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id)[:64],
        old_value=old_value,
        new_value=new_value,
        correlation_id=correlation_id[:64],
        ip_address=ip_address,
        user_agent=user_agent[:300],
    )


def audit_write(entries: AuditEntries) -> AuditEntries:
    """Append the rows of `audit_entry` in one statement, in list order."""
    return AuditLog.objects.bulk_create(entries) if entries else []


def _written_at_once(entry: Callable[P, AuditLog]) -> Callable[P, AuditLog]:
    def record(*args: P.args, **kwargs: P.kwargs) -> AuditLog:
        (row,) = audit_write([entry(*args, **kwargs)])
        return row

    record.__doc__ = "Append one audit row now (the arguments of `audit_entry`)."
    return record


audit_record = _written_at_once(audit_entry)
