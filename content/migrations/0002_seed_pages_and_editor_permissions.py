"""Seed the shop pages and FAQ with the default Indonesian texts (only what is missing, so
editors' changes survive), and let the "Content editors" group edit them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CONTENT_EDITORS = "Content editors"


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    from content.services import shop_texts_seed

    shop_texts_seed(
        page_model=apps.get_model("content", "ShopPage"),
        faq_model=apps.get_model("content", "FaqItem"),
    )

    app_config = apps.get_app_config("content")
    app_config.models_module = True  # historical app configs have none; the function needs one
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    editors, _ = Group.objects.get_or_create(name=CONTENT_EDITORS)
    editors.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="content",
            codename__in=[
                f"{verb}_{model}"
                for model in ("shoppage", "faqitem")
                for verb in ("view", "add", "change", "delete")
            ],
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0001_initial"),
        ("supportdesk", "0003_support_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
