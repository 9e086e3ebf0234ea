from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("midtrans/notification/", views.midtrans_notification, name="midtrans_notification"),
]
