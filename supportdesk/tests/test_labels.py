"""Words, not codes: every status, outcome and reconciliation result support can meet has an
Indonesian label and a one-line "what to do"; admin models and columns are named in Indonesian;
booleans that are not errors are not painted red."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from courses.models import Entitlement
from notifications.models import OutboxStatus
from orders.models import OrderStatus
from orders.tests.lifecycle import order_in
from payments.models import AttemptStatus
from payments.processing import Outcome
from payments.reconciliation import ERROR, NOT_STARTED
from payments.tests.factories import PaymentAttemptFactory, PaymentEventFactory
from supportdesk import labels

OWN_APPS = ("orders", "payments", "notifications", "courses", "supportdesk")


@pytest.mark.parametrize(
    ("table", "codes"),
    [
        (labels.OUTCOME, [*Outcome, NOT_STARTED, ERROR]),
        (labels.ORDER_STATUS, OrderStatus.values),
        (labels.ATTEMPT_STATUS, AttemptStatus.values),
        (labels.OUTBOX_STATUS, OutboxStatus.values),
        (labels.ENTITLEMENT_STATUS, Entitlement.Status.values),
    ],
    ids=["outcome+reconcile", "order", "attempt", "outbox", "entitlement"],
)
def test_every_code_has_words_and_a_next_step(table, codes):
    missing = [str(code) for code in codes if str(code) not in table]
    assert not missing, f"add these to supportdesk/labels.py: {missing}"
    for code in codes:
        label = table[str(code)]
        assert label.text and label.text != str(code)
        assert len(label.todo) > 10 and label.tone in ("ok", "info", "warn", "bad", "muted")


def test_an_unknown_code_still_shows_with_a_hint():
    label = labels.outcome("brand_new_outcome")
    assert label.text == "brand_new_outcome" and "tim teknis" in label.todo


def test_every_own_model_has_an_indonesian_verbose_name():
    registered = [
        model
        for app_label in OWN_APPS
        for model in apps.get_app_config(app_label).get_models()
        if model in admin.site._registry
    ]
    for model in registered:  # Django's English default is "<verbose_name>s"
        meta = model._meta
        assert str(meta.verbose_name_plural) != f"{meta.verbose_name}s", model
    assert {str(model._meta.verbose_name_plural) for model in registered} >= {
        "order",
        "kode promo",
        "percobaan pembayaran",
        "kabar pembayaran Midtrans",
        "pesan keluar (outbox)",
        "kursus",
        "paket",
        "akses kursus",
        "jejak audit",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["superuser", "support_user"])
def test_admin_pages_use_words_and_no_red_cross_for_plain_no(request, client, who):
    order = order_in(OrderStatus.PAID)
    attempt = order.attempts.get()
    PaymentEventFactory(attempt=PaymentAttemptFactory(order=order, sequence=2), outcome="")
    client.force_login(request.getfixturevalue(who))
    index = client.get(reverse("admin:index")).content.decode()
    assert "Notification outboxs" not in index and "Pesan keluar (outbox)" in index
    attempts = client.get(reverse("admin:payments_paymentattempt_changelist")).content.decode()
    assert "icon-no.svg" not in attempts  # "needs review = no" is not an error
    assert labels.attempt_status(attempt.status).text in attempts  # status in words
    page = client.get(
        reverse("admin:payments_paymentattempt_change", args=[attempt.pk])
    ).content.decode()
    assert "icon-no.svg" not in page and "Perlu dicek" in page
    events = client.get(reverse("admin:payments_paymentevent_changelist")).content.decode()
    assert "icon-no.svg" not in events
    assert "Belum" in events and "Sah" in events
    orders = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "Email pelanggan" in orders and "Customer email" not in orders
