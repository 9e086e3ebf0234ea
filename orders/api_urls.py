from django.urls import path

from orders import api

app_name = "api"

urlpatterns = [
    path("packages/", api.PackageListView.as_view(), name="packages"),
]
