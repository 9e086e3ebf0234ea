"""`django.contrib.admin` with the project's admin site as the default `admin.site`.

Kept apart from `supportdesk.apps` (Django would take a second AppConfig there as a candidate
for the supportdesk app) and from `supportdesk.sites` (importing the admin site while the app
registry is loading is not allowed)."""

from django.contrib.admin.apps import AdminConfig


class SupportAdminConfig(AdminConfig):
    default_site = "supportdesk.sites.SupportAdminSite"
