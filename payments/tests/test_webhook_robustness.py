"""The webhook never turns hostile bytes or a passing database problem into a permanent 500
(issue 10, points 6 and 8).

Hostile text in a signed body is stored sanitised (the notification still applies) and logged;
a forged one holding NUL or a lone surrogate is refused 403 and audited, never a 500. A
transient database failure (database unreachable, lock timeout, serialization failure) answers
503, which Midtrans retries four times (a 500 only once); the retry then succeeds."""

import hashlib
import json
import threading

import pytest
from django.db import connection, connections

from orders.models import Order, OrderStatus
from payments.models import PaymentAttempt, PaymentEvent
from payments.tests.factories import PaymentAttemptFactory
from payments.tests.webhook_cases import midtrans_body, post_notification
from supportdesk.models import AuditLog

NUL = "\u0000"
SURROGATE = "\ud800"


@pytest.fixture
def attempt() -> PaymentAttempt:
    return PaymentAttemptFactory()


def raw_json(body: dict) -> str:
    """JSON text as Midtrans would send it: hostile characters as \\u escapes."""
    return json.dumps(body, ensure_ascii=True)


# --- hostile text (point 6) ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("hostile", [NUL, SURROGATE, "x" * 10_000])
def test_a_signed_body_with_hostile_unsigned_fields_is_stored_sanitised(
    client, attempt, hostile, caplog
):
    body = midtrans_body(attempt, status_message=f"ok{hostile}", custom_field1=hostile)
    response = post_notification(client, None, raw=raw_json(body))
    assert response.status_code == 200, response.content
    attempt.order.refresh_from_db()
    assert attempt.order.status == OrderStatus.PAID
    stored = PaymentEvent.objects.get(attempt=attempt).raw_payload
    text = json.dumps(stored, ensure_ascii=False)
    assert NUL not in text and SURROGATE not in text
    assert all(len(str(value)) <= 4096 for value in stored.values())
    assert "event=notification_sanitised" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("hostile", [NUL, SURROGATE])
def test_a_forged_body_with_a_hostile_order_id_is_refused_and_audited(client, attempt, hostile):
    body = midtrans_body(attempt)
    body["order_id"] = f"BF-1{hostile}"
    body["signature_key"] = "0" * 128
    response = post_notification(client, None, raw=raw_json(body))
    assert response.status_code == 403
    row = AuditLog.objects.get(action="webhook_invalid_signature")
    assert NUL not in row.entity_id and SURROGATE not in row.entity_id


@pytest.mark.django_db
@pytest.mark.parametrize("hostile", [NUL, SURROGATE])
def test_a_body_signed_over_a_hostile_order_id_is_refused_not_a_500(
    client, attempt, hostile, settings
):
    body = midtrans_body(attempt)
    body["order_id"] = f"{attempt.midtrans_order_id}{hostile}"
    signed = body["order_id"] + body["status_code"] + body["gross_amount"]
    body["signature_key"] = hashlib.sha512(
        (signed + settings.MIDTRANS_SERVER_KEY).encode("utf-8", "surrogatepass")
    ).hexdigest()
    response = post_notification(client, None, raw=raw_json(body))
    assert response.status_code in {400, 403, 404}
    attempt.order.refresh_from_db()
    assert attempt.order.status == OrderStatus.PENDING_PAYMENT


# --- transient database failures (point 8) ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lock_timeout_answers_503_and_the_retry_applies(client, attempt, caplog):
    body = midtrans_body(attempt)
    locked, release = threading.Event(), threading.Event()

    def hold_the_order_row() -> None:
        other = connections.create_connection("default")
        try:
            other.set_autocommit(False)
            with other.cursor() as cursor:
                table, pk = Order._meta.db_table, Order._meta.pk.column
                cursor.execute(
                    f"SELECT 1 FROM {table} WHERE {pk} = %s FOR UPDATE",  # noqa: S608
                    [attempt.order_id],
                )
                locked.set()
                release.wait(30)
            other.rollback()
        finally:
            other.close()

    holder = threading.Thread(target=hold_the_order_row, daemon=True)
    holder.start()
    assert locked.wait(30)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        response = post_notification(client, body)
    finally:
        release.set()
        holder.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert response.status_code == 503, response.content
    assert response["Retry-After"]
    assert "LockNotAvailable" in caplog.text
    assert not PaymentEvent.objects.filter(attempt=attempt).exists()  # rolled back

    retried = post_notification(client, body)
    assert retried.status_code == 200
    attempt.order.refresh_from_db()
    assert attempt.order.status == OrderStatus.PAID


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_serialization_failure_answers_503(client, attempt, caplog):
    # PostgreSQL itself raises SQLSTATE 40001 on the event insert, as a serializable
    # transaction losing a conflict would.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE FUNCTION h10a_serialization_failure() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END;
            $$ LANGUAGE plpgsql
            """
        )
        cursor.execute(
            "CREATE TRIGGER h10a_serialization_failure BEFORE INSERT ON payments_paymentevent "
            "FOR EACH ROW EXECUTE FUNCTION h10a_serialization_failure()"
        )
    try:
        response = post_notification(client, midtrans_body(attempt))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER h10a_serialization_failure ON payments_paymentevent")
            cursor.execute("DROP FUNCTION h10a_serialization_failure()")
    assert response.status_code == 503, response.content
    assert "SerializationFailure" in caplog.text
    assert post_notification(client, midtrans_body(attempt)).status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_answers_503(client, attempt):
    from buatfilm.testing import free_port

    body = midtrans_body(attempt)
    original = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["PORT"] = str(free_port())
    try:
        response = post_notification(client, body)
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response.json()["detail"]
