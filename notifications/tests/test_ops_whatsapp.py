"""OPS_WHATSAPP (optional): every ops alert also goes to that WhatsApp number, through the
outbox like any message (own row, own retries), deduplicated like the email."""

import pytest

from notifications.models import Channel, NotificationOutbox, OutboxStatus, Template
from notifications.services import Outcome, ops_alert_enqueue, outbox_deliver, outbox_resend

pytestmark = pytest.mark.django_db
OPS_PHONE = "+6281200000001"


def alerts() -> list[tuple[str, str]]:
    return sorted(
        NotificationOutbox.objects.filter(template_name=Template.OPS_ALERT).values_list(
            "channel", "recipient"
        )
    )


def test_without_ops_whatsapp_alerts_go_by_email_only(settings):
    settings.OPS_WHATSAPP = ""
    ops_alert_enqueue(dedupe_key="k:1", subject="Uji", message="Isi")
    assert alerts() == [(Channel.EMAIL, settings.OPS_EMAIL)]


def test_ops_whatsapp_receives_the_same_alert_once(settings, gateway):
    settings.OPS_WHATSAPP = OPS_PHONE
    email = ops_alert_enqueue(dedupe_key="k:2", subject="Pembayaran terlambat", message="Isi")
    assert (
        ops_alert_enqueue(dedupe_key="k:2", subject="Pembayaran terlambat", message="Isi") is None
    )
    assert email is not None and email.channel == Channel.EMAIL
    assert alerts() == [(Channel.EMAIL, settings.OPS_EMAIL), (Channel.WHATSAPP, OPS_PHONE)]
    whatsapp = NotificationOutbox.objects.get(channel=Channel.WHATSAPP)
    assert whatsapp.context == email.context
    assert outbox_deliver(outbox_id=whatsapp.pk) == Outcome.SENT
    whatsapp.refresh_from_db()
    assert whatsapp.status == OutboxStatus.SENT
    [sent] = gateway.messages
    assert sent.chat_id == "6281200000001@c.us" and "Pembayaran terlambat" in sent.text
    # Support may resend it to the same number.
    copy = outbox_resend(original=whatsapp, actor="staff:alice")
    assert (copy.channel, copy.recipient) == (Channel.WHATSAPP, OPS_PHONE)
