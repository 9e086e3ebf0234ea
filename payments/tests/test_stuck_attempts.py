"""Issue 10 point 5: no stuck attempt. An attempt left CREATED because its process died during
the Snap call becomes recoverable: after the grace period the status page offers "coba lagi",
and the `resolve_stuck_attempts` job asks Midtrans (no transaction -> FAILED, a live one ->
kept). The last test kills a real gunicorn worker (`kill -9`) in the middle of the Snap call."""

import os
import signal
import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from buatfilm.schedules import scheduled_jobs
from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory
from payments.attempts import attempt_start
from payments.models import AttemptStatus, PaymentAttempt
from payments.selectors import IN_FLIGHT_GRACE
from payments.stuck import attempts_resolve_stuck
from payments.tasks import resolve_stuck_attempts
from payments.tests.factories import PaymentAttemptFactory
from supportdesk.models import AuditLog

S = OrderStatus


def stuck_attempt(
    order: Order | None = None, *, age: timedelta | None = None, sequence: int = 1
) -> PaymentAttempt:
    order = order or OrderFactory(status=S.CREATED)
    attempt = PaymentAttemptFactory(
        order=order, sequence=sequence, status=AttemptStatus.CREATED, snap_token=""
    )
    PaymentAttempt.objects.filter(pk=attempt.pk).update(
        created_at=timezone.now() - (age or IN_FLIGHT_GRACE + timedelta(seconds=5))
    )
    attempt.refresh_from_db()
    return attempt


def status_page(client, order: Order) -> str:
    response = client.get(f"/orders/{order.order_id}/?key={order.access_key}")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
def test_a_young_created_attempt_is_in_flight_and_left_alone(client, midtrans_sim):
    attempt = stuck_attempt(age=timedelta(seconds=5))

    page = status_page(client, attempt.order)
    summary = attempts_resolve_stuck()

    assert "Menyiapkan pembayaran" in page and "Coba lagi" not in page
    assert summary.results == {}
    assert midtrans_sim.simulator.requests_log == []
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.CREATED


@pytest.mark.django_db
def test_after_the_grace_period_the_status_page_offers_coba_lagi(client):
    attempt = stuck_attempt()

    page = status_page(client, attempt.order)
    api = client.get(
        f"/api/orders/{attempt.order.order_id}/", HTTP_X_ORDER_KEY=attempt.order.access_key
    ).json()

    assert "Menyiapkan pembayaran" not in page
    assert "Coba lagi" in page and 'data-can-retry="1"' in page
    assert api["can_retry_payment"] is True


@pytest.mark.django_db
def test_a_stuck_retry_of_a_pending_order_offers_coba_bayar_lagi(client):
    from orders.tests.lifecycle import order_in

    order = order_in(S.PENDING_PAYMENT)
    PaymentAttempt.objects.filter(order=order).update(status=AttemptStatus.FAILED)
    stuck_attempt(order, sequence=9)

    page = status_page(client, order)

    assert "Coba bayar lagi" in page


@pytest.mark.django_db
def test_the_job_fails_an_attempt_midtrans_never_heard_of_and_a_new_one_starts(midtrans_sim):
    attempt = stuck_attempt()

    summary = attempts_resolve_stuck()

    assert summary.results == {attempt.midtrans_order_id: "failed"}
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED and "abandoned" in attempt.snap_error
    assert AuditLog.objects.filter(
        action="payment_attempt_abandoned", entity_id=attempt.midtrans_order_id
    ).exists()
    order = Order.objects.get(pk=attempt.order_id)
    assert order.status == S.CREATED  # nothing lost
    second = attempt_start(order_id=order.order_id)
    assert second.sequence == 2 and second.status == AttemptStatus.PENDING
    assert attempts_resolve_stuck().results == {}  # idempotent


@pytest.mark.django_db
def test_a_snap_transaction_the_customer_never_saw_is_also_failed(midtrans_sim):
    # The process died after Midtrans created the Snap transaction but before its answer was
    # stored: Core status says 404 until a method is picked, which nobody can do without the
    # token. FAILED is right: the next attempt gets a new Midtrans order id.
    from payments.tests.test_jobs import start_snap_transaction

    attempt = stuck_attempt()
    start_snap_transaction(attempt)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(snap_token="")

    assert attempts_resolve_stuck().results == {attempt.midtrans_order_id: "failed"}


@pytest.mark.django_db
def test_a_live_midtrans_transaction_is_kept(midtrans_sim):
    from payments.tests.test_jobs import start_snap_transaction

    attempt = stuck_attempt()
    start_snap_transaction(attempt)
    PaymentAttempt.objects.filter(pk=attempt.pk).update(snap_token="")
    midtrans_sim.simulator.customer_action(attempt.midtrans_order_id, "choose")

    summary = attempts_resolve_stuck()

    assert summary.results == {attempt.midtrans_order_id: "kept"}
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.PENDING  # the pending answer went through processing
    # Processing records a pending answer on the attempt; the order itself is not touched.
    assert Order.objects.get(pk=attempt.order_id).status == S.CREATED


@pytest.mark.django_db
def test_midtrans_unreachable_leaves_the_attempt_for_the_next_run(midtrans_sim, settings):
    settings.MIDTRANS_MAX_RETRIES = 0
    midtrans_sim.simulator.fail_next(count=1, status=503)
    attempt = stuck_attempt()

    with pytest.raises(CommandError, match="could not be checked"):
        call_command("resolve_stuck_attempts", stdout=StringIO())

    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.CREATED
    out = StringIO()
    call_command("resolve_stuck_attempts", stdout=out)
    assert "1 failed" in out.getvalue()


@pytest.mark.django_db
def test_the_task_runs_the_job_and_beat_schedules_it(midtrans_sim):
    attempt = stuck_attempt()

    assert "1 failed" in resolve_stuck_attempts()
    attempt.refresh_from_db()
    assert attempt.status == AttemptStatus.FAILED
    jobs = {job.task: job for job in scheduled_jobs()}
    assert jobs["payments.resolve_stuck_attempts"].every_seconds == 120


# --- A real worker killed in the middle of the Snap call ------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_during_the_snap_call_leaves_a_recoverable_order(
    tmp_path, settings, midtrans_sim, client
):
    from courses.tests.factories import PackageFactory
    from payments.tests.live import http, live_web
    from payments.tests.test_midtrans_deadline import checkout_body

    package = PackageFactory()
    sim = midtrans_sim.simulator
    sim.delay_next(count=1, seconds=8.0, path_prefix="/snap/")
    body = checkout_body(package.code, 7)
    headers = {"Idempotency-Key": "killed-worker-key-0001"}
    answers: list = []

    with live_web(tmp_path, settings) as web:

        def checkout() -> None:
            try:
                answers.append(http(f"{web.url}/api/orders/", data=body, headers=headers))
            except OSError as exc:  # the worker died under the request
                answers.append(exc)

        buyer = threading.Thread(target=checkout)
        buyer.start()
        for _ in range(300):
            if any(r["path"].startswith("/snap/") for r in sim.requests_log):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the Snap call never arrived:\n{web.output()}")
        (worker,) = web.worker_pids()
        os.kill(worker, signal.SIGKILL)
        buyer.join(60)

        # The customer never got an answer; the order and its CREATED attempt were committed.
        assert not (answers and isinstance(answers[0], tuple) and answers[0][0] in (201, 503))
        order = Order.objects.get(customer_email=body["email"])
        attempt = PaymentAttempt.objects.get(order=order)
        assert order.status == S.CREATED and attempt.status == AttemptStatus.CREATED

        # Within the grace period: still "preparing"; after it: "coba lagi".
        assert "Menyiapkan pembayaran" in status_page(client, order)
        PaymentAttempt.objects.filter(pk=attempt.pk).update(
            created_at=timezone.now() - IN_FLIGHT_GRACE - timedelta(seconds=1)
        )
        assert "Coba lagi" in status_page(client, order)

        # The Beat job asks Midtrans (nothing known for this id) and fails the attempt.
        assert attempts_resolve_stuck().results == {attempt.midtrans_order_id: "failed"}

        # The same checkout request, repeated (idempotency key), now pays on a new attempt,
        # served by the worker gunicorn started in place of the killed one.
        status, answer = http(f"{web.url}/api/orders/", data=body, headers=headers)
        assert status == 200, (answer, web.output())
        assert answer["order_id"] == order.order_id
        assert answer["payment"]["midtrans_order_id"] == f"{order.order_id}-2"
        assert answer["payment"]["redirect_url"]
        assert web.worker_pids() != [worker]
    order.refresh_from_db()
    assert order.status == S.PENDING_PAYMENT
