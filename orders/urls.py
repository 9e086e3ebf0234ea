from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("checkout/<slug:package_code>/", views.checkout, name="checkout"),
    path("orders/<str:order_id>/", views.order_status, name="status"),
    path("orders/<str:order_id>/pay/", views.retry_payment, name="retry_payment"),
    path("orders/<str:order_id>/cancel/", views.cancel_order, name="cancel"),
    path("orders/<str:order_id>/access/", views.order_access, name="access"),
    path("orders/<str:order_id>/receipt/", views.receipt, name="receipt"),
    path("orders/<str:order_id>/receipt.pdf", views.receipt_pdf, name="receipt_pdf"),
]
