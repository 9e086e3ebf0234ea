from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from buatfilm.http import rate_limited
from orders import api
from orders.views import CREATE_API_RATE, STATUS_API_RATE

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("packages/", api.PackageListView.as_view(), name="packages"),
    path(
        "orders/",
        rate_limited(group="api.order_create", rate=CREATE_API_RATE, method="POST")(
            api.OrderCreateView.as_view()
        ),
        name="order_create",
    ),
    path(
        "orders/<str:order_id>/",
        rate_limited(group="api.order_detail", rate=STATUS_API_RATE)(api.OrderDetailView.as_view()),
        name="order_detail",
    ),
    path(
        "orders/<str:order_id>/pay/",
        rate_limited(group="api.order_pay", rate=CREATE_API_RATE, method="POST")(
            api.OrderPayView.as_view()
        ),
        name="order_pay",
    ),
    path(
        "orders/<str:order_id>/cancel/",
        rate_limited(group="api.order_cancel", rate=CREATE_API_RATE, method="POST")(
            api.OrderCancelView.as_view()
        ),
        name="order_cancel",
    ),
]
