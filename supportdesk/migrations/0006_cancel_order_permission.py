"""The `cancel_order` permission (cancel a pending order for a customer), given to Support."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    app_config = apps.get_app_config("supportdesk")
    app_config.models_module = True  # historical app configs have none; the function needs one
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name="Support")
    support.permissions.add(
        Permission.objects.get(content_type__app_label="supportdesk", codename="cancel_order")
    )


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="supportdesk", codename="cancel_order").delete()


class Migration(migrations.Migration):
    dependencies = [("supportdesk", "0005_export_orders_permission_finance_group")]

    operations = [
        migrations.AlterModelOptions(
            name="auditlog",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("reconcile_order", "Can reconcile an order with Midtrans"),
                    ("resend_notification", "Can resend a customer notification"),
                    ("export_orders", "Can export orders, refunds and promo usage as CSV"),
                    ("cancel_order", "Can cancel a pending order for a customer"),
                ],
                "verbose_name": "jejak audit",
                "verbose_name_plural": "jejak audit",
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
