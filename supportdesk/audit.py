"""The audit trail's writer: a leaf module every app may import (it imports only the AuditLog
model). Every service that changes something a person may ask about later ("who did this,
when?") calls `audit_record` inside its own transaction."""

from typing import Any

from supportdesk.models import AuditLog

SYSTEM_WEBHOOK = "system:webhook"
SYSTEM_SCHEDULER = "system:scheduler"
SYSTEM_RECONCILIATION = "system:reconciliation"
SYSTEM_CHECKOUT = "system:checkout"


def staff_actor(username: str) -> str:
    return f"staff:{username}"


def audit_record(
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
    """Append one audit row. Callers must pass no secrets (keys, signatures, tokens)."""
    return AuditLog.objects.create(
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
