from datetime import timedelta

import factory
from django.utils import timezone

from courses.tests.factories import PackageFactory
from orders.checkout import generate_order_id
from orders.models import Order, OrderStatus, PaymentMethod


class OrderFactory(factory.django.DjangoModelFactory):
    """An order as checkout leaves it. Use `status=` only for states reachable by creation
    (CREATED/PENDING_PAYMENT); other states must be reached through `order_transition`."""

    class Meta:
        model = Order

    order_id = factory.LazyFunction(generate_order_id)
    package = factory.SubFactory(PackageFactory)
    package_code = factory.SelfAttribute("package.code")
    package_name = factory.SelfAttribute("package.name")
    base_amount = factory.SelfAttribute("package.price")
    discount_amount = 0
    final_amount = factory.LazyAttribute(lambda o: o.base_amount - o.discount_amount)
    payment_method = PaymentMethod.BCA_VA
    customer_name = "Budi Santoso"
    customer_email = factory.Sequence(lambda n: f"budi{n}@example.com")
    customer_phone = "+6281234567789"
    status = OrderStatus.PENDING_PAYMENT
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=24))
