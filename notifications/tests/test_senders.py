"""The WhatsApp client against the fake gateway over real HTTP, and email through Django's mail
API with anymail's test ESP, the dev .eml backend and locmem."""

import json
import smtplib

import pytest
import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused, AnymailRequestsAPIError
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from devtools.fake_gateway import FakeWhatsAppGateway
from notifications.errors import DeliveryError
from notifications.mailer import classify_email_error, send_email
from notifications.rendering import RenderedMessage
from notifications.tests.conftest import GATEWAY_TOKEN
from notifications.whatsapp import WhatsAppClient, chat_id

PHONE = "+6281234567789"


def esp_error(status: int, body: str = '{"message": "error"}') -> AnymailRequestsAPIError:
    """What an anymail HTTP ESP raises for an error answer (a real `requests.Response`)."""
    response = requests.Response()
    response.status_code = status
    response.reason = "Error"
    response._content = body.encode()
    return AnymailRequestsAPIError("ESP API response " + str(status), response=response)


MESSAGE = RenderedMessage(subject="Halo", text="Teks biasa\n", html="<p>Halo</p>")


# --- WhatsApp -------------------------------------------------------------------------------


def test_chat_id_is_waha_style():
    assert chat_id("+6281234567789") == "6281234567789@c.us"
    assert chat_id("6281234567789") == "6281234567789@c.us"
    for bad in ["", "0812", "+62abc4567890", "+0812345678901"]:
        with pytest.raises(DeliveryError) as info:
            chat_id(bad)
        assert info.value.permanent


def test_send_text_posts_session_chat_id_text_and_api_key(gateway):
    message_id = WhatsAppClient().send_text(phone=PHONE, text="Halo *Budi*")

    [sent] = gateway.messages
    assert sent.chat_id == "6281234567789@c.us"
    assert sent.session == "buatfilm"
    assert sent.text == "Halo *Budi*"
    assert sent.api_key == GATEWAY_TOKEN
    assert message_id == sent.id and message_id.startswith("true_6281234567789@c.us_")


def test_gateway_5xx_and_429_are_transient(gateway):
    for status in (500, 502, 503, 429):
        gateway.fail_next(1, status=status)
        with pytest.raises(DeliveryError) as info:
            WhatsAppClient().send_text(phone=PHONE, text="x")
        assert not info.value.permanent
        assert info.value.status_code == status
    assert gateway.messages == []


def test_rejected_number_is_permanent(gateway):
    gateway.reject(PHONE)
    with pytest.raises(DeliveryError) as info:
        WhatsAppClient().send_text(phone=PHONE, text="x")
    assert info.value.permanent
    assert info.value.status_code == 422
    assert "not on WhatsApp" in str(info.value)


def test_wrong_token_is_transient_because_ops_can_fix_it(gateway, settings):
    settings.WHATSAPP_GATEWAY_TOKEN = "wrong"
    with pytest.raises(DeliveryError) as info:
        WhatsAppClient().send_text(phone=PHONE, text="x")
    assert info.value.status_code == 401
    assert not info.value.permanent


def test_slow_gateway_times_out_as_transient(gateway, settings):
    settings.WHATSAPP_TIMEOUT = 0.2
    gateway.slow_next(1, seconds=1.0)
    with pytest.raises(DeliveryError) as info:
        WhatsAppClient().send_text(phone=PHONE, text="x")
    assert not info.value.permanent
    assert "timeout" in str(info.value)


def test_unreachable_gateway_is_transient(settings):
    with FakeWhatsAppGateway() as fake:
        url = fake.url
    settings.WHATSAPP_BACKEND = "http"
    settings.WHATSAPP_GATEWAY_URL = url  # stopped: nothing listens there now
    with pytest.raises(DeliveryError) as info:
        WhatsAppClient().send_text(phone=PHONE, text="x")
    assert not info.value.permanent
    assert "unreachable" in str(info.value)


def test_a_redirecting_gateway_is_a_transient_configuration_error(gateway):
    """Not followed (requests would turn the POST into a GET): the URL needs fixing."""
    gateway.redirect_next(1, location="https://gateway.example/login")

    with pytest.raises(DeliveryError) as excinfo:
        WhatsAppClient().send_text(phone=PHONE, text="x")

    assert not excinfo.value.permanent and excinfo.value.status_code == 302
    assert "redirected (302)" in str(excinfo.value) and "gateway.example/login" in str(
        excinfo.value
    )
    assert gateway.messages == [] and gateway.requests == 1


def test_missing_gateway_url_is_a_transient_configuration_error(settings):
    settings.WHATSAPP_BACKEND = "http"
    settings.WHATSAPP_GATEWAY_URL = ""
    with pytest.raises(DeliveryError) as info:
        WhatsAppClient().send_text(phone=PHONE, text="x")
    assert not info.value.permanent


def test_waha_object_ids_are_read(gateway):
    """Some WAHA engines answer {"id": {"_serialized": ...}}; a 2xx without an id still counts."""
    from notifications.whatsapp import _message_id

    assert _message_id({"id": {"_serialized": "true_1@c.us_AB", "id": "AB"}}) == "true_1@c.us_AB"
    assert _message_id({"id": "abc"}) == "abc"
    assert _message_id(["not", "a", "dict"]) == ""


def test_file_backend_writes_one_json_file_per_message(settings, tmp_path):
    settings.WHATSAPP_BACKEND = "file"
    settings.WHATSAPP_FILE_PATH = str(tmp_path)
    message_id = WhatsAppClient().send_text(phone=PHONE, text="Halo dari dev")
    [written] = list(tmp_path.glob("*.json"))
    record = json.loads(written.read_text(encoding="utf-8"))
    assert record == {
        "id": message_id,
        "session": settings.WHATSAPP_SESSION,
        "chatId": "6281234567789@c.us",
        "text": "Halo dari dev",
    }
    assert message_id.startswith("file-")


def test_the_gateway_answers_like_waha_over_plain_http(gateway):
    response = requests.post(
        gateway.url + "/api/sendText",
        json={"session": "s", "chatId": "628111@c.us", "text": "t"},
        headers={"X-Api-Key": GATEWAY_TOKEN},
        timeout=5,
    )
    assert response.status_code == 201
    assert response.json()["id"].startswith("true_628111@c.us_")
    listing = requests.get(gateway.url + "/api/messages", timeout=5).json()
    assert [m["chat_id"] for m in listing] == ["628111@c.us"]
    bad = requests.post(
        gateway.url + "/api/sendText",
        json={"chatId": "x"},
        headers={"X-Api-Key": GATEWAY_TOKEN},
        timeout=5,
    )
    assert bad.status_code == 400


# --- Email ----------------------------------------------------------------------------------


def test_anymail_message_id_is_returned(anymail_backend):
    provider_id = send_email(
        to=["budi@example.com"],
        rendered=MESSAGE,
        headers={"X-BuatFilm-Outbox-Id": "7"},
        tags=["payment_instruction"],
        metadata={"outbox_id": "7"},
    )
    [sent] = anymail_backend
    assert provider_id == str(sent.anymail_status.message_id)
    assert sent.subject == "Halo"
    assert sent.body == "Teks biasa\n"
    assert sent.alternatives[0][0] == "<p>Halo</p>"
    assert sent.anymail_test_params["tags"] == ["payment_instruction"]
    assert sent.anymail_test_params["metadata"] == {"outbox_id": "7"}
    assert sent.extra_headers["X-BuatFilm-Outbox-Id"] == "7"


def test_locmem_has_no_provider_id_so_our_message_id_header_stands_in(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    provider_id = send_email(to=["budi@example.com"], rendered=MESSAGE)
    [sent] = mail.outbox
    assert provider_id == sent.extra_headers["Message-ID"]
    assert provider_id.startswith("<") and provider_id.endswith("@buatfilm.local>")


def test_dev_backend_writes_an_eml_file_and_reports_its_id(settings, tmp_path):
    settings.EMAIL_BACKEND = "notifications.backends.EmlFileEmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    provider_id = send_email(to=["budi@example.com"], rendered=MESSAGE)
    [written] = list(tmp_path.glob("*.eml"))
    assert provider_id.startswith("file-") and provider_id in written.name
    content = written.read_text()
    assert "Subject: Halo" in content and "text/html" in content


def test_esp_errors_are_classified(scripted_email):
    scripted_email.errors = [esp_error(503)]
    with pytest.raises(DeliveryError) as info:
        send_email(to=["budi@example.com"], rendered=MESSAGE)
    assert not info.value.permanent and info.value.status_code == 503

    scripted_email.errors = [esp_error(422, '{"Message": "Invalid To address"}')]
    with pytest.raises(DeliveryError) as info:
        send_email(to=["budi@example.com"], rendered=MESSAGE)
    assert info.value.permanent


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (AnymailRecipientsRefused("all rejected"), True),
        (AnymailAPIError("network", status_code=None), False),
        (esp_error(429), False),
        (esp_error(401), False),
        (esp_error(500), False),
        (esp_error(400), True),
        (esp_error(422), True),
        (AnymailAPIError("odd", status_code=400), True),  # no response attached: still classified
        (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no")}), True),
        (smtplib.SMTPResponseException(550, b"mailbox unavailable"), True),
        (smtplib.SMTPResponseException(535, b"auth failed"), False),
        (smtplib.SMTPResponseException(421, b"try later"), False),
        (TimeoutError("timed out"), False),
        (ConnectionRefusedError("refused"), False),
        (ImproperlyConfigured("no key"), False),
        (ValueError("header contains newline"), True),
    ],
)
def test_email_error_classification(error, permanent):
    assert classify_email_error(error).permanent is permanent
