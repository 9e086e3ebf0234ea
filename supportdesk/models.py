"""The append-only audit trail, and the support permissions."""

from typing import Any, NoReturn

from django.db import models


class AuditLogImmutable(Exception):
    """Raised on any attempt to change or delete an audit row."""


class AuditLogQuerySet(models.QuerySet["AuditLog"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditLogImmutable("Audit log rows cannot be updated.")

    def delete(self) -> NoReturn:
        raise AuditLogImmutable("Audit log rows cannot be deleted.")


class AuditLog(models.Model):
    actor = models.CharField(
        verbose_name="pelaku", max_length=150, help_text="system:…, staff:<username>, customer"
    )
    action = models.CharField(verbose_name="aksi", max_length=64, db_index=True)
    entity_type = models.CharField(verbose_name="jenis entitas", max_length=32)
    entity_id = models.CharField(verbose_name="id entitas", max_length=64)
    old_value = models.JSONField(verbose_name="nilai lama", null=True, blank=True)
    new_value = models.JSONField(verbose_name="nilai baru", null=True, blank=True)
    correlation_id = models.CharField(
        verbose_name="id korelasi", max_length=64, blank=True, db_index=True
    )
    ip_address = models.GenericIPAddressField(verbose_name="alamat IP", null=True, blank=True)
    user_agent = models.CharField(verbose_name="user agent", max_length=300, blank=True)
    created_at = models.DateTimeField(verbose_name="dibuat", auto_now_add=True, db_index=True)

    objects = AuditLogQuerySet.as_manager()

    class Meta:
        verbose_name = "jejak audit"
        verbose_name_plural = "jejak audit"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["entity_type", "entity_id"], name="audit_entity")]
        permissions = [
            ("reconcile_order", "Can reconcile an order with Midtrans"),
            ("resend_notification", "Can resend a customer notification"),
            ("export_orders", "Can export orders, refunds and promo usage as CSV"),
            ("cancel_order", "Can cancel a pending order for a customer"),
            ("record_refund", "Can record a refund done outside Midtrans"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.entity_type}:{self.entity_id} by {self.actor}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditLogImmutable("Audit log rows cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditLogImmutable("Audit log rows cannot be deleted.")


class DailyOrderStats(models.Model):
    """The dashboard's figures for the orders created on one WIB calendar day, by their status
    at `refreshed_at` (a cohort, like `supportdesk.selectors.funnel_by_day`). Written only by
    `supportdesk.services.daily_stats_refresh` (Beat, hourly); the dashboard reads closed days
    from here and today live, so a view costs the same at 10k or 10M orders."""

    day = models.DateField(verbose_name="hari (WIB)", unique=True)
    created = models.PositiveIntegerField(default=0)
    still_created = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    paid = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    refunded = models.PositiveIntegerField(default=0)
    revenue = models.BigIntegerField(default=0)
    customer_paid = models.PositiveIntegerField(default=0)
    fulfilled = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(verbose_name="diperbarui")

    class Meta:
        verbose_name = "ringkasan order harian"
        verbose_name_plural = "ringkasan order harian"
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.created} order, {self.paid} lunas"


class IntegrityCheck(models.Model):
    """The last result of an all-time invariant check too costly for every dashboard view
    (in full it reads every entitlement): written by `supportdesk.services.integrity_checks_run`
    (Beat, hourly, with the daily summary; in full once a day), read by the dashboard.
    `violating_ids` are the rows found breaking it, which the next incremental run reads
    again with whatever changed since `checked_at`."""

    name = models.CharField(verbose_name="pemeriksaan", max_length=50, unique=True)
    violations = models.PositiveIntegerField(verbose_name="pelanggaran", default=0)
    violating_ids = models.JSONField(verbose_name="id pelanggar", default=list, blank=True)
    checked_at = models.DateTimeField(verbose_name="diperiksa")
    full_checked_at = models.DateTimeField(
        verbose_name="diperiksa menyeluruh", null=True, blank=True
    )

    class Meta:
        verbose_name = "pemeriksaan integritas"
        verbose_name_plural = "pemeriksaan integritas"

    def __str__(self) -> str:
        return f"{self.name}: {self.violations}"
