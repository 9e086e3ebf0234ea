from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from buatfilm import views
from supportdesk.metrics import metrics_view

urlpatterns = [
    path("healthz/", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    # Before the admin's own patterns, which would take "support/" for an app label.
    path(f"{settings.ADMIN_URL}support/dashboard/", include("supportdesk.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/", include("orders.api_urls")),
    path("payments/", include("payments.urls")),
    path("", include("courses.urls")),
    path("", include("orders.urls")),
]
