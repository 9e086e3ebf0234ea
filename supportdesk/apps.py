from django.apps import AppConfig


class SupportdeskConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "supportdesk"
    verbose_name = "Meja support"
