from django.apps import AppConfig


class CoursesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "courses"
    verbose_name = "Kursus"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from courses.services import login_link_send_context
        from courses.sessions import session_expiry_on_login
        from notifications.models import Template
        from notifications.services import register_send_time_context

        user_logged_in.connect(session_expiry_on_login, dispatch_uid="courses.session_expiry")
        # The login link is minted when the email goes out, never stored in the outbox.
        register_send_time_context(Template.LOGIN_LINK, login_link_send_context)
