from django.apps import AppConfig


class CoursesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "courses"
    verbose_name = "Kursus"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from courses.sessions import session_expiry_on_login

        user_logged_in.connect(session_expiry_on_login, dispatch_uid="courses.session_expiry")
