from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("orders/<str:order_id>/", views.order_status, name="status"),
]
