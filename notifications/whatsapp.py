"""The one WhatsApp client: a self-hosted gateway (WAHA-style HTTP API) or, in development,
files under WHATSAPP_FILE_PATH.

HTTP: `POST {WHATSAPP_GATEWAY_URL}/api/sendText` with header `X-Api-Key: WHATSAPP_GATEWAY_TOKEN`
and JSON `{"session": WHATSAPP_SESSION, "chatId": "628…@c.us", "text": "…"}`; the message id is
the response's `id` (a string, or WAHA's `{"_serialized": …}` object). Every request has a
timeout (WHATSAPP_TIMEOUT seconds) and goes through this process's kept-alive session
(`buatfilm.sessions`). Failures become `DeliveryError`: network errors, timeouts, 5xx, 429,
a redirect (not followed: the URL is wrong) and auth errors, which ops fix, are transient;
other 4xx (an invalid number, a request the gateway refuses) are permanent.
"""

import json
import re
import uuid
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from buatfilm.sessions import EnvironmentOnceSession, shared_session
from notifications.errors import DeliveryError, status_is_permanent

SEND_TEXT_PATH = "/api/sendText"


def chat_id(phone: str) -> str:
    """'+6281234567789' -> '6281234567789@c.us'. Raises a permanent `DeliveryError` for
    anything that is not an international number of 8-15 digits."""
    digits = re.sub(r"[\s\-()]", "", phone or "").removeprefix("+")
    if not re.fullmatch(r"[1-9]\d{7,14}", digits):
        raise DeliveryError("not a valid WhatsApp number", permanent=True)
    return f"{digits}@c.us"


def _message_id(payload: Any) -> str:
    if not isinstance(payload, dict):
        return ""
    value = payload.get("id")
    if isinstance(value, dict):  # some WAHA engines answer {"id": {"_serialized": ...}}
        value = value.get("_serialized") or value.get("id")
    return str(value) if value else ""


class WhatsAppClient:
    """Send one text message; returns the gateway's message id. Raises `DeliveryError`."""

    def __init__(
        self,
        *,
        backend: str | None = None,
        base_url: str | None = None,
        token: str | None = None,
        session: str | None = None,
        timeout: float | None = None,
        file_path: str | None = None,
    ) -> None:
        self.backend = backend or settings.WHATSAPP_BACKEND
        self.base_url = (
            base_url if base_url is not None else settings.WHATSAPP_GATEWAY_URL
        ).rstrip("/")
        self.token = token if token is not None else settings.WHATSAPP_GATEWAY_TOKEN
        self.session = session or settings.WHATSAPP_SESSION
        self.timeout = timeout if timeout is not None else settings.WHATSAPP_TIMEOUT
        self.file_path = Path(file_path or settings.WHATSAPP_FILE_PATH)

    def send_text(self, *, phone: str, text: str) -> str:
        to = chat_id(phone)
        if self.backend == "file":
            return self._write_file(to=to, text=text)
        if self.backend != "http":
            raise DeliveryError(f"unknown WHATSAPP_BACKEND {self.backend!r}", permanent=False)
        if not self.base_url:
            # Configuration, not the message: retry (ops get the DLQ alert if nobody fixes it).
            raise DeliveryError("WHATSAPP_GATEWAY_URL is not set", permanent=False)
        return self._post(to=to, text=text)

    def _post(self, *, to: str, text: str) -> str:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["X-Api-Key"] = self.token
        try:
            response = shared_session("whatsapp", EnvironmentOnceSession).post_json(
                self.base_url + SEND_TEXT_PATH,
                json={"session": self.session, "chatId": to, "text": text},
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise DeliveryError(f"gateway timeout after {self.timeout}s", permanent=False) from exc
        except requests.RequestException as exc:
            raise DeliveryError(
                f"gateway unreachable: {type(exc).__name__}", permanent=False
            ) from exc
        if 300 <= response.status_code < 400:
            # Not followed: the gateway URL is wrong (a proxy's login page, http -> https).
            location = response.headers.get("Location", "")[:200]
            raise DeliveryError(
                f"gateway redirected ({response.status_code}) to {location!r}: fix "
                "WHATSAPP_GATEWAY_URL",
                permanent=False,
                status_code=response.status_code,
            )
        if response.status_code >= 400:
            raise DeliveryError(
                f"gateway answered {response.status_code}: {response.text[:200]}",
                permanent=status_is_permanent(response.status_code),
                status_code=response.status_code,
            )
        try:
            payload = response.json()
        except ValueError:
            payload = None
        # Accepted is accepted: a 2xx without a readable id still means "do not send again".
        return _message_id(payload) or f"accepted-{uuid.uuid4().hex}"

    def _write_file(self, *, to: str, text: str) -> str:
        message_id = f"file-{uuid.uuid4().hex}"
        try:
            self.file_path.mkdir(parents=True, exist_ok=True)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            record = {"id": message_id, "session": self.session, "chatId": to, "text": text}
            (self.file_path / f"{stamp}-{message_id}.json").write_text(
                json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8"
            )
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.file_path}: {exc}", permanent=False) from exc
        return message_id
