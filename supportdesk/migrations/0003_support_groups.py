"""The "Support" and "Content editors" groups with their permissions.

Permissions are normally created by a post_migrate signal *after* all migrations, so on a fresh
database they do not exist yet when this runs: `create_permissions` makes them first. Running
it again (or after new models) only adds what is missing; permissions an operator added to a
group by hand are kept.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT = "Support"
CONTENT_EDITORS = "Content editors"

SUPPORT_VIEW = {
    "orders": ["order", "promocode"],
    "payments": ["paymentattempt", "paymentevent"],
    "notifications": ["notificationoutbox"],
    "courses": ["course", "lesson", "package", "entitlement"],
    "supportdesk": ["auditlog"],
}
SUPPORT_CUSTOM = [("supportdesk", "reconcile_order"), ("supportdesk", "resend_notification")]

CONTENT_MODELS = {
    "courses": ["course", "lesson", "package"],
    "orders": ["promocode"],
}


def _ensure_permissions(apps):  # type: ignore[no-untyped-def]
    for label in ("orders", "payments", "notifications", "courses", "supportdesk"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True  # historical app configs have none; the function needs one
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None


def _permission(apps, app_label, codename):  # type: ignore[no-untyped-def]
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")

    support, _ = Group.objects.get_or_create(name=SUPPORT)
    wanted = [
        _permission(apps, app_label, f"view_{model}")
        for app_label, models in SUPPORT_VIEW.items()
        for model in models
    ]
    wanted += [_permission(apps, app_label, codename) for app_label, codename in SUPPORT_CUSTOM]
    support.permissions.add(*wanted)

    editors, _ = Group.objects.get_or_create(name=CONTENT_EDITORS)
    editor_perms = [
        _permission(apps, app_label, f"{verb}_{model}")
        for app_label, models in CONTENT_MODELS.items()
        for model in models
        for verb in ("view", "add", "change")
    ]
    # Lessons are edited inline on their course; removing one is part of editing a course.
    editor_perms.append(_permission(apps, "courses", "delete_lesson"))
    editors.permissions.add(*editor_perms)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[SUPPORT, CONTENT_EDITORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("supportdesk", "0002_auditlog_append_only_trigger"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0001_initial"),
        ("payments", "0001_initial"),
        ("notifications", "0001_initial"),
        ("courses", "0002_initial"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
