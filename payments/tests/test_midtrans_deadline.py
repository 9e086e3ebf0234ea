"""Issue 10 point 4: a slow Midtrans never hangs a page. One wall-clock deadline per Midtrans
call, enforced against a server that trickles one byte every 2 s (a small socket server this
test starts: per-read timeouts never fire against it), and a circuit breaker that makes an
outage fail at once and closes again by itself. Real SDK over real HTTP throughout."""

import logging
import socket
import threading
import time

import pytest
import time_machine

from orders.models import Order, OrderStatus
from orders.tests.factories import OrderFactory
from payments.attempts import PaymentUnavailable, attempt_start
from payments.circuit import CircuitBreaker
from payments.midtrans import MidtransGateway, MidtransUnavailable, midtrans_breaker
from payments.models import AttemptStatus, PaymentAttempt
from payments.tests.test_midtrans_client import gateway_for, snap_params, snap_requests

TRICKLE_RESPONSE = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 41\r\n\r\n"
    b'{"token":"t","redirect_url":"http://x/t"}'
)


class TrickleServer:
    """Accepts connections, reads the request, then answers `TRICKLE_RESPONSE` one byte every
    `interval` seconds (about 4 minutes for the whole answer). Counts connections and bytes
    sent, and notices when the client hangs up."""

    def __init__(self, interval: float = 2.0) -> None:
        self.interval = interval
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.bytes_sent = 0
        self.client_gone = threading.Event()
        self.request_seen = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "TrickleServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                conn.recv(65536)
            except OSError:
                return
            self.request_seen.set()
            for byte in TRICKLE_RESPONSE:
                if self._stop.wait(self.interval if self.bytes_sent else 0):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    self.client_gone.set()
                    return
                self.bytes_sent += 1
                conn.settimeout(0.01)
                try:
                    if conn.recv(1) == b"":  # the client closed its end
                        self.client_gone.set()
                        return
                except TimeoutError:
                    pass
                except OSError:
                    self.client_gone.set()
                    return
                conn.settimeout(10)


@pytest.fixture
def trickle():
    server = TrickleServer().start()
    yield server
    server.stop()


def trickle_gateway(server: TrickleServer, **overrides) -> MidtransGateway:
    options = {
        "server_key": "SB-Mid-server-X",
        "snap_base_url": server.url + "/snap/v1",
        "api_base_url": server.url,
        "connect_timeout": 1.0,
        "read_timeout": 5.0,  # longer than the 2 s between bytes: no per-read timeout fires
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "deadline_seconds": 3.0,
    }
    options.update(overrides)
    return MidtransGateway(**options)


def test_a_trickling_snap_server_is_cut_at_the_deadline(trickle):
    gateway = trickle_gateway(trickle)

    with pytest.raises(MidtransUnavailable, match=r"deadline of 3\.0 s passed"):
        gateway.create_snap_transaction(snap_params())

    # The answer needs ~240 s at one byte per 2 s; the call gave up after ~3 s, hung up, and
    # did not start a retry it had no time left for.
    assert trickle.client_gone.wait(5)
    assert trickle.bytes_sent <= 3
    assert trickle.connections == 1


def test_a_trickling_status_call_is_cut_at_the_deadline_too(trickle):
    gateway = trickle_gateway(trickle, deadline_seconds=2.5)

    with pytest.raises(MidtransUnavailable, match="deadline"):
        gateway.get_status("T-TRICKLE-1")
    assert trickle.client_gone.wait(5)
    assert trickle.bytes_sent <= 3


def test_the_deadline_covers_the_retries(midtrans_sim):
    # Each try times out after 0.6 s (the simulator answers after 5 s); without one deadline
    # over all of them, 1 + 5 retries would take ~3.6 s. Only the tries that fit are made.
    midtrans_sim.simulator.delay_next(count=6, seconds=5.0)
    gateway = gateway_for(
        midtrans_sim, connect_timeout=0.2, read_timeout=0.4, max_retries=5, deadline_seconds=1.5
    )

    with pytest.raises(MidtransUnavailable):
        gateway.create_snap_transaction(snap_params())

    assert 1 <= len(snap_requests(midtrans_sim)) <= 3


def test_retries_stop_when_no_full_request_fits_before_the_deadline(midtrans_sim):
    midtrans_sim.simulator.fail_next(count=5, status=500)
    gateway = gateway_for(midtrans_sim, max_retries=4, deadline_seconds=0.5)

    with pytest.raises(MidtransUnavailable):
        gateway.create_snap_transaction(snap_params())

    # connect + read timeouts (3 s) exceed the 0.5 s deadline: no retry may start.
    assert len(snap_requests(midtrans_sim)) == 1


def test_a_fast_answer_is_not_disturbed_by_the_deadline_timer(midtrans_sim):
    gateway = gateway_for(midtrans_sim, deadline_seconds=0.8)
    for n in range(3):  # kept-alive connection reused across calls
        assert gateway.create_snap_transaction(snap_params(f"T-FAST-{n}-1"))["token"]
    time.sleep(1.0)  # every call's timer would have fired by now, had it not been cancelled
    assert gateway.create_snap_transaction(snap_params("T-FAST-9-1"))["token"]


@pytest.mark.django_db
def test_checkout_against_a_trickling_snap_shows_the_retry_page_and_keeps_the_order(
    client, settings, trickle
):
    settings.MIDTRANS_SNAP_BASE_URL = trickle.url + "/snap/v1"
    settings.MIDTRANS_READ_TIMEOUT = 5.0
    settings.MIDTRANS_DEADLINE_SECONDS = 2.0
    order = OrderFactory(status=OrderStatus.CREATED)

    response = client.post(
        f"/orders/{order.order_id}/pay/", {"key": order.access_key}, follow=False
    )

    assert response.status_code == 503
    assert "coba lagi" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.CREATED  # nothing lost: still payable
    attempt = PaymentAttempt.objects.get(order=order)
    assert attempt.status == AttemptStatus.FAILED
    assert "deadline" in attempt.snap_error


# --- Circuit breaker --------------------------------------------------------------------------


def small_breaker(**overrides) -> CircuitBreaker:
    options = {"failure_threshold": 2, "window_seconds": 60, "reset_seconds": 30}
    options.update(overrides)
    breaker = CircuitBreaker(f"test-{time.monotonic_ns()}", **options)
    return breaker


def test_an_outage_opens_the_breaker_and_later_calls_fail_without_a_request(midtrans_sim, caplog):
    midtrans_sim.simulator.fail_next(count=10, status=503)
    breaker = small_breaker()
    gateway = gateway_for(midtrans_sim, max_retries=0, breaker=breaker)

    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            with pytest.raises(MidtransUnavailable, match="HTTP 503"):
                gateway.create_snap_transaction(snap_params())
        assert breaker.snapshot()["state"] == "open"
        with pytest.raises(MidtransUnavailable, match="circuit"):
            gateway.create_snap_transaction(snap_params())

    assert len(snap_requests(midtrans_sim)) == 2  # the third call never left this process
    assert any("OPEN" in r.getMessage() for r in caplog.records)
    assert breaker.snapshot()["trips"] == 1


def test_the_breaker_closes_by_itself_after_a_successful_probe(midtrans_sim, caplog):
    midtrans_sim.simulator.fail_next(count=2, status=500)
    breaker = small_breaker(reset_seconds=30)
    gateway = gateway_for(midtrans_sim, max_retries=0, breaker=breaker)
    for _ in range(2):
        with pytest.raises(MidtransUnavailable):
            gateway.create_snap_transaction(snap_params())

    with time_machine.travel(time.time() + 31, tick=True), caplog.at_level(logging.WARNING):
        assert breaker.snapshot()["state"] == "half_open"
        assert gateway.create_snap_transaction(snap_params())["token"]  # the probe

    assert breaker.snapshot()["state"] == "closed"
    assert any("closed" in r.getMessage() for r in caplog.records)
    assert gateway.create_snap_transaction(snap_params())["token"]


def test_a_failed_probe_opens_the_breaker_again(midtrans_sim):
    midtrans_sim.simulator.fail_next(count=3, status=500)
    breaker = small_breaker(reset_seconds=30)
    gateway = gateway_for(midtrans_sim, max_retries=0, breaker=breaker)
    for _ in range(2):
        with pytest.raises(MidtransUnavailable):
            gateway.create_snap_transaction(snap_params())

    with time_machine.travel(time.time() + 31, tick=True):
        with pytest.raises(MidtransUnavailable, match="HTTP 500"):
            gateway.create_snap_transaction(snap_params())  # the probe, still failing
        assert breaker.snapshot()["state"] == "open"
        assert breaker.snapshot()["trips"] == 2
        with pytest.raises(MidtransUnavailable, match="circuit"):
            gateway.create_snap_transaction(snap_params())
    assert len(snap_requests(midtrans_sim)) == 3


def test_a_4xx_answer_counts_as_midtrans_being_up(midtrans_sim):
    breaker = small_breaker()
    gateway = gateway_for(midtrans_sim, max_retries=0, breaker=breaker)
    midtrans_sim.simulator.fail_next(count=1, status=500)
    with pytest.raises(MidtransUnavailable):
        gateway.create_snap_transaction(snap_params())
    assert gateway.get_status("T-NEVER-1") is None  # 404: an answer
    midtrans_sim.simulator.fail_next(count=1, status=500)
    with pytest.raises(MidtransUnavailable):
        gateway.create_snap_transaction(snap_params())
    assert breaker.snapshot()["state"] == "closed"  # never two failures in a row


@pytest.mark.django_db
def test_an_open_breaker_shows_the_retry_page_at_once_and_in_healthz(
    client, midtrans_sim, settings
):
    breaker = midtrans_breaker()
    midtrans_sim.simulator.fail_next(count=settings.MIDTRANS_BREAKER_FAILURES, status=503)
    settings.MIDTRANS_MAX_RETRIES = 0
    orders = [
        OrderFactory(status=OrderStatus.CREATED)
        for _ in range(settings.MIDTRANS_BREAKER_FAILURES + 1)
    ]
    for order in orders[:-1]:
        with pytest.raises(PaymentUnavailable):
            attempt_start(order_id=order.order_id)
    sent = len(snap_requests(midtrans_sim))

    last = orders[-1]
    response = client.post(f"/orders/{last.order_id}/pay/", {"key": last.access_key})

    assert response.status_code == 503
    assert len(snap_requests(midtrans_sim)) == sent  # failed fast, no request
    assert Order.objects.get(pk=last.pk).status == OrderStatus.CREATED
    assert "circuit" in PaymentAttempt.objects.get(order=last).snap_error
    health = client.get("/healthz/").json()
    assert health["midtrans_breaker"]["state"] == "open"
    assert health["midtrans_breaker"]["trips"] == 1
    assert "503" in health["midtrans_breaker"]["last_trip_reason"]
    assert breaker.snapshot()["state"] == "open"


class BrokenCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("cache down")

        return fail


def test_the_breaker_works_per_process_when_the_cache_is_down(monkeypatch, midtrans_sim):
    monkeypatch.setattr("payments.circuit.cache", BrokenCache())
    midtrans_sim.simulator.fail_next(count=2, status=500)
    breaker = small_breaker()
    gateway = gateway_for(midtrans_sim, max_retries=0, breaker=breaker)
    for _ in range(2):
        with pytest.raises(MidtransUnavailable):
            gateway.create_snap_transaction(snap_params())
    with pytest.raises(MidtransUnavailable, match="circuit"):
        gateway.create_snap_transaction(snap_params())
    assert breaker.snapshot()["state"] == "open"


# --- gthread: a slow Snap call does not stall other pages -------------------------------------


def checkout_body(package_code: str, n: int) -> dict:
    return {
        "package": package_code,
        "name": "Pelanggan Uji",
        "email": f"pelanggan{n}@example.com",
        "phone": f"08123456{n:04d}",
        "payment_method": "bca_va",
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_slow_snap_call_does_not_stall_other_pages_of_the_procfile_web_server(
    tmp_path, settings, trickle
):
    from courses.tests.factories import PackageFactory
    from payments.tests.live import http, live_web, procfile_web_command

    assert "--worker-class gthread" in procfile_web_command()
    package = PackageFactory()
    settings.MIDTRANS_SNAP_BASE_URL = trickle.url + "/snap/v1"
    result: dict = {}

    # One worker process: with sync workers it could serve nothing else during the Snap call.
    with live_web(
        tmp_path,
        settings,
        WEB_CONCURRENCY="1",
        MIDTRANS_READ_TIMEOUT="5",
        MIDTRANS_DEADLINE_SECONDS="6",
    ) as web:

        def checkout() -> None:
            result["answer"] = http(
                f"{web.url}/api/orders/",
                data=checkout_body(package.code, 1),
                headers={"Idempotency-Key": "gthread-test-key-0001"},
            )

        buyer = threading.Thread(target=checkout)
        buyer.start()
        trickle.request_seen.wait(30)
        assert trickle.request_seen.is_set(), (result, web.output())

        status, health = http(f"{web.url}/healthz/", timeout=30)

        # Answered while the checkout was still waiting for the trickling Snap server.
        still_waiting = buyer.is_alive() and not trickle.client_gone.is_set()
        buyer.join(60)

    assert status == 200 and health["database"] == "ok"
    assert still_waiting
    status, body = result["answer"]
    assert status == 503, web.output()
    assert body["retryable"] is True
    order = Order.objects.get(order_id=body["order_id"])
    assert order.status == OrderStatus.CREATED
    assert "deadline" in PaymentAttempt.objects.get(order=order).snap_error
