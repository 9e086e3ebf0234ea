from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifikasi"

    def ready(self) -> None:
        # Connects to request_started / request_finished before the first request.
        import buatfilm.after_response  # noqa: F401
        from buatfilm.memory import warm_up
        from notifications.rendering import templates_load

        warm_up.connect(templates_load, dispatch_uid="notifications.templates_load")
