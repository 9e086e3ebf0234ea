from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from buatfilm import views
from supportdesk.metrics import metrics_view

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico whatever the <link rel="icon"> says.
    path(
        "favicon.ico",
        # Lazy: the hashed name exists only once collectstatic has run (manifest storage).
        RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"), permanent=True),
        name="favicon",
    ),
    # Before the admin's own patterns, which would take "support/" for an app label.
    path(f"{settings.ADMIN_URL}support/dashboard/", include("supportdesk.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/", include("orders.api_urls")),
    path("payments/", include("payments.urls")),
    path("", include("content.urls")),
    path("", include("courses.urls")),
    path("", include("orders.urls")),
]
