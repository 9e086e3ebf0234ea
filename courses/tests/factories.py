import factory

from courses.models import Course, Lesson, Package


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        django_get_or_create = ("slug",)

    slug = "buat-film-pakai-ai"
    title = "Buat Film Pakai AI"


class PackageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Package

    code = factory.Sequence(lambda n: f"paket-{n}")
    course = factory.SubFactory(CourseFactory)
    name = factory.Sequence(lambda n: f"Paket {n}")
    price = 499_000


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    course = factory.SubFactory(CourseFactory)
    slug = factory.Sequence(lambda n: f"pelajaran-{n}")
    title = factory.Sequence(lambda n: f"Pelajaran {n}")
    position = factory.Sequence(int)


def paid_order(**order_kwargs):
    """An order driven to PAID the only legal way (a verified settlement event through
    `order_transition`), which creates its customer and ACTIVE entitlement. Imports are lazy:
    orders' factories import this module."""
    from orders.models import OrderStatus
    from orders.services import order_transition
    from orders.tests.factories import OrderFactory
    from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory

    order = OrderFactory(**order_kwargs)
    event = PaymentEventFactory(attempt=PaymentAttemptFactory(order=order))
    return order_transition(
        order_id=order.order_id, to_status=OrderStatus.PAID, actor="test", payment_event=event
    ).order


def refunded_order(**order_kwargs):
    """A PAID order refunded through `order_transition` (entitlement REVOKED)."""
    from orders.models import OrderStatus
    from orders.services import order_transition
    from payments.tests.factories import PaymentEventFactory

    order = paid_order(**order_kwargs)
    event = PaymentEventFactory(
        attempt=order.attempts.get(), transaction_status="refund", status_code="200"
    )
    return order_transition(
        order_id=order.order_id, to_status=OrderStatus.REFUNDED, actor="test", payment_event=event
    ).order
