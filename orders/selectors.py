"""Reads for the storefront and the order pages."""

import secrets

from django.db.models import QuerySet

from courses.models import Package
from orders.models import Order


def packages_for_sale() -> QuerySet[Package]:
    return Package.objects.filter(is_active=True, course__is_active=True).select_related("course")


def order_for_customer(*, order_id: str, access_key: str) -> Order | None:
    """The order only when the caller holds its access key; a wrong key and a missing order
    look the same (None), so order ids alone reveal nothing."""
    if not access_key:
        return None
    order = Order.objects.select_related("package__course").filter(order_id=order_id).first()
    if order is None:
        return None
    if not secrets.compare_digest(order.access_key, access_key):
        return None
    return order
