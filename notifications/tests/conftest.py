"""Fixtures for the outbox tests: a real fake WhatsApp gateway over HTTP, anymail's test email
backend, and orders with a realistic message context."""

from datetime import UTC, datetime

import pytest
from django.core import mail

from devtools.fake_gateway import FakeWhatsAppGateway
from orders.models import OrderStatus
from orders.tests.factories import OrderFactory
from payments.tests.factories import PaymentAttemptFactory

GATEWAY_TOKEN = "gateway-test-token"
# 07:05 UTC = 14:05 WIB
EXPIRES_AT = datetime(2026, 11, 26, 7, 5, tzinfo=UTC)


@pytest.fixture
def gateway(settings):
    """The fake gateway on a free port, with the WhatsApp client pointed at it."""
    with FakeWhatsAppGateway(token=GATEWAY_TOKEN) as fake:
        settings.WHATSAPP_BACKEND = "http"
        settings.WHATSAPP_GATEWAY_URL = fake.url
        settings.WHATSAPP_GATEWAY_TOKEN = GATEWAY_TOKEN
        settings.WHATSAPP_SESSION = "buatfilm"
        settings.WHATSAPP_TIMEOUT = 5.0
        yield fake


@pytest.fixture
def anymail_backend(settings):
    """anymail's test ESP: messages land in `mail.outbox` with an ESP message id."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    mail.outbox = []
    return mail.outbox


@pytest.fixture
def scripted_email(settings):
    """anymail's test ESP that first raises the errors queued in `errors`."""
    from notifications.tests.email_backends import ScriptedEmailBackend

    settings.EMAIL_BACKEND = "notifications.tests.email_backends.ScriptedEmailBackend"
    mail.outbox = []
    ScriptedEmailBackend.errors = []
    yield ScriptedEmailBackend
    ScriptedEmailBackend.errors = []


def make_order(**kwargs):
    """A PENDING_PAYMENT order with a Snap attempt (redirect URL and a BCA VA), as the
    instruction message sees it."""
    kwargs.setdefault("status", OrderStatus.PENDING_PAYMENT)
    kwargs.setdefault("expires_at", EXPIRES_AT)
    kwargs.setdefault("customer_name", "Budi Santoso")
    order = OrderFactory(**kwargs)
    PaymentAttemptFactory(
        order=order,
        redirect_url="https://app.sandbox.midtrans.com/snap/v4/redirection/abc123",
        va_number="12345678901",
        bank="bca",
    )
    return order


@pytest.fixture
def order(db):
    return make_order()
