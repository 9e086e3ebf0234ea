"""Support pages under the admin URL (see `buatfilm/urls.py`). `admin_view` lets only active
staff in (others go to the admin login) and marks the pages never-cache."""

from django.contrib import admin
from django.urls import path

from supportdesk import views

app_name = "supportdesk"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard), name="dashboard"),
]
