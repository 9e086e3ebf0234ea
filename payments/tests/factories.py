import factory

from orders.tests.factories import OrderFactory
from payments.models import AttemptStatus, EventSource, PaymentAttempt, PaymentEvent


class PaymentAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentAttempt

    order = factory.SubFactory(OrderFactory)
    sequence = 1
    midtrans_order_id = factory.LazyAttribute(lambda a: f"{a.order.order_id}-{a.sequence}")
    amount = factory.SelfAttribute("order.final_amount")
    payment_method = factory.SelfAttribute("order.payment_method")
    status = AttemptStatus.PENDING
    snap_token = factory.Faker("uuid4")


class PaymentEventFactory(factory.django.DjangoModelFactory):
    """A verified Midtrans notification (signature already checked)."""

    class Meta:
        model = PaymentEvent

    attempt = factory.SubFactory(PaymentAttemptFactory)
    order = factory.SelfAttribute("attempt.order")
    source = EventSource.WEBHOOK
    midtrans_order_id = factory.SelfAttribute("attempt.midtrans_order_id")
    transaction_id = factory.Faker("uuid4")
    transaction_status = "settlement"
    status_code = "200"
    fraud_status = "accept"
    gross_amount = factory.LazyAttribute(lambda e: f"{e.attempt.amount}.00")
    signature_valid = True
    idempotency_key = factory.LazyAttribute(
        lambda e: f"{e.transaction_id}:{e.transaction_status}:{e.status_code}"
    )
