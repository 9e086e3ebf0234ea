"""Development email backend: one `.eml` file per message under EMAIL_FILE_PATH (`var/mail`),
openable by any mail client. It sets a message id like an ESP would, so the outbox records one."""

import uuid
from collections.abc import Sequence
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class EmlFileEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        folder = Path(settings.EMAIL_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            message_id = f"file-{uuid.uuid4().hex}"
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            (folder / f"{stamp}-{message_id}.eml").write_bytes(message.message().as_bytes())
            message.extra_headers.setdefault("X-Message-Id", message_id)
            message.provider_message_id = message_id  # type: ignore[attr-defined]
            sent += 1
        return sent
