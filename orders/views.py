from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from orders import selectors


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/landing.html", {"packages": selectors.packages_for_sale()})


def order_status(request: HttpRequest, order_id: str) -> HttpResponse:
    order = selectors.order_for_customer(order_id=order_id, access_key=request.GET.get("key", ""))
    if order is None:
        raise Http404
    return render(request, "orders/status.html", {"order": order})
