"""`payments.midtrans.MidtransGateway` against the local simulator over real HTTP, through the
real `midtransclient` SDK (nothing patched): timeouts, bounded retries, error mapping."""

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from payments.midtrans import (
    MidtransGateway,
    MidtransRejected,
    MidtransUnavailable,
    TimeoutSession,
    get_gateway,
)

AMOUNT = 499_000


def snap_params(order_id: str | None = None) -> dict:
    return {
        "transaction_details": {
            "order_id": order_id or f"T-{uuid.uuid4().hex[:10]}-1",
            "gross_amount": AMOUNT,
        },
        "item_details": [{"id": "pro", "price": AMOUNT, "quantity": 1, "name": "Paket Pro"}],
        "enabled_payments": ["bca_va"],
    }


def gateway_for(server, **overrides) -> MidtransGateway:
    options = {
        "server_key": server.simulator.server_key,
        "snap_base_url": server.snap_base_url,
        "api_base_url": server.api_base_url,
        "connect_timeout": 1.0,
        "read_timeout": 2.0,
        "max_retries": 2,
        "backoff_seconds": 0.01,
    }
    options.update(overrides)
    return MidtransGateway(**options)


def snap_requests(server) -> list[dict]:
    return [r for r in server.simulator.requests_log if r["path"] == "/snap/v1/transactions"]


def test_get_gateway_is_built_from_settings(midtrans_sim, settings):
    settings.MIDTRANS_CONNECT_TIMEOUT = 1.5
    settings.MIDTRANS_READ_TIMEOUT = 4.5
    settings.MIDTRANS_MAX_RETRIES = 3
    gateway = get_gateway()

    assert gateway.snap.api_config.get_snap_base_url() == midtrans_sim.snap_base_url
    assert gateway.core.api_config.get_core_api_base_url() == midtrans_sim.api_base_url
    assert gateway.max_retries == 3
    # The SDK's HTTP calls go through our session, which always sets a timeout.
    assert isinstance(gateway.snap.http_client.http_client, TimeoutSession)
    assert gateway.core.http_client.http_client is gateway.session
    assert gateway.session.timeout == (1.5, 4.5)


def test_empty_base_urls_keep_the_sdk_defaults(settings):
    settings.MIDTRANS_SNAP_BASE_URL = ""
    settings.MIDTRANS_API_BASE_URL = ""
    gateway = get_gateway()
    assert gateway.snap.api_config.get_snap_base_url() == "https://app.sandbox.midtrans.com/snap/v1"
    assert gateway.core.api_config.get_core_api_base_url() == "https://api.sandbox.midtrans.com"


def test_create_snap_transaction_returns_token_and_redirect_url(midtrans_sim):
    answer = gateway_for(midtrans_sim).create_snap_transaction(snap_params("T-OK-1"))

    assert answer["token"]
    assert answer["redirect_url"].startswith(midtrans_sim.base_url + "/snap/v4/redirection/")
    [request] = snap_requests(midtrans_sim)
    assert request["auth_user"] == midtrans_sim.simulator.server_key
    assert request["json"]["transaction_details"] == {"order_id": "T-OK-1", "gross_amount": AMOUNT}


def test_a_5xx_is_retried_and_then_succeeds(midtrans_sim):
    midtrans_sim.simulator.fail_next(count=1, status=500)

    answer = gateway_for(midtrans_sim).create_snap_transaction(snap_params())

    assert answer["token"]
    assert [r["response_status"] for r in snap_requests(midtrans_sim)] == [500, 201]


def test_5xx_on_every_try_is_unavailable_after_bounded_retries(midtrans_sim):
    midtrans_sim.simulator.fail_next(count=5, status=503)

    with pytest.raises(MidtransUnavailable, match="HTTP 503"):
        gateway_for(midtrans_sim, max_retries=2).create_snap_transaction(snap_params())

    assert len(snap_requests(midtrans_sim)) == 3  # one try + two retries, no more


@pytest.mark.parametrize("status", [400, 401, 404, 409])
def test_a_4xx_is_never_retried(midtrans_sim, status):
    midtrans_sim.simulator.fail_next(count=1, status=status)

    with pytest.raises(MidtransRejected) as excinfo:
        gateway_for(midtrans_sim).create_snap_transaction(snap_params())

    assert excinfo.value.http_status == status
    assert excinfo.value.messages == [f"Simulated HTTP {status} from the Midtrans simulator"]
    assert len(snap_requests(midtrans_sim)) == 1


def test_a_validation_error_carries_midtrans_messages(midtrans_sim):
    params = snap_params()
    params["item_details"][0]["price"] = 1  # items no longer sum to gross_amount

    with pytest.raises(MidtransRejected) as excinfo:
        gateway_for(midtrans_sim).create_snap_transaction(params)

    assert excinfo.value.http_status == 400
    assert excinfo.value.messages
    assert len(snap_requests(midtrans_sim)) == 1


def test_a_wrong_server_key_is_rejected_not_retried(midtrans_sim):
    with pytest.raises(MidtransRejected) as excinfo:
        gateway_for(midtrans_sim, server_key="SB-Mid-server-WRONG").create_snap_transaction(
            snap_params()
        )
    assert excinfo.value.http_status == 401
    assert len(snap_requests(midtrans_sim)) == 1


def test_every_request_has_a_read_timeout(midtrans_sim):
    midtrans_sim.simulator.delay_next(count=1, seconds=3.0)
    gateway = gateway_for(midtrans_sim, read_timeout=0.3, max_retries=0)

    started = time.monotonic()
    with pytest.raises(MidtransUnavailable, match="ReadTimeout"):
        gateway.create_snap_transaction(snap_params())

    assert time.monotonic() - started < 2.0  # the SDK alone would wait the full 3 s


def test_a_timeout_is_retried_with_the_same_order_id(midtrans_sim):
    midtrans_sim.simulator.delay_next(count=1, seconds=1.0)
    gateway = gateway_for(midtrans_sim, read_timeout=0.3, max_retries=1)

    answer = gateway.create_snap_transaction(snap_params("T-RETRY-1"))

    assert answer["token"]
    order_ids = [r["json"]["transaction_details"]["order_id"] for r in snap_requests(midtrans_sim)]
    assert order_ids == ["T-RETRY-1", "T-RETRY-1"]


def test_a_timed_out_first_try_is_recovered_with_a_fresh_token(midtrans_sim):
    # The first try reaches Midtrans (and creates the transaction) but answers too late; the
    # retry reuses the order id, and Snap hands out a fresh token because the customer has not
    # picked a method yet (https://docs.midtrans.com/docs/error-code-and-response-code).
    midtrans_sim.simulator.delay_next(count=1, seconds=0.4)
    gateway = gateway_for(midtrans_sim, read_timeout=0.2, max_retries=1, backoff_seconds=0.6)

    answer = gateway.create_snap_transaction(snap_params("T-LATE-1"))

    assert answer["token"] == midtrans_sim.simulator.transaction("T-LATE-1")["token"]
    assert [r["response_status"] for r in snap_requests(midtrans_sim)] == [201, 201]


def test_a_used_order_id_is_400_and_rejected(midtrans_sim):
    gateway = gateway_for(midtrans_sim)
    gateway.create_snap_transaction(snap_params("T-USED-1"))
    midtrans_sim.simulator.customer_action("T-USED-1", "choose", "bca_va")

    with pytest.raises(MidtransRejected) as caught:
        gateway.create_snap_transaction(snap_params("T-USED-1"))

    assert caught.value.http_status == 400
    assert caught.value.messages == ["transaction_details.order_id sudah digunakan"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_retried_then_unavailable():
    port = _free_port()
    gateway = MidtransGateway(
        server_key="SB-Mid-server-X",
        snap_base_url=f"http://127.0.0.1:{port}/snap/v1",
        api_base_url=f"http://127.0.0.1:{port}",
        max_retries=2,
        backoff_seconds=0.01,
    )
    with pytest.raises(MidtransUnavailable, match="ConnectionError"):
        gateway.create_snap_transaction(snap_params())
    with pytest.raises(MidtransUnavailable):
        gateway.get_status("T-1-1")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):
        return None


@pytest.fixture
def html_server():
    """A server that answers every request with an HTML page and a chosen status (a proxy or a
    wrong base URL), counting requests."""
    state = {"status": 404, "count": 0}

    def app(environ, start_response):
        state["count"] += 1
        start_response(f"{state['status']} X", [("Content-Type", "text/html")])
        return [b"<html><body>Not Midtrans</body></html>"]

    httpd = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state["url"] = f"http://127.0.0.1:{httpd.server_port}"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_a_non_json_404_is_an_error_not_transaction_not_found(html_server):
    gateway = MidtransGateway(server_key="SB-Mid-server-X", api_base_url=html_server["url"])
    with pytest.raises(MidtransRejected) as excinfo:
        gateway.get_status("T-1-1")
    assert excinfo.value.http_status == 404
    assert excinfo.value.from_midtrans is False


def test_a_non_json_502_is_retried(html_server):
    html_server["status"] = 502
    gateway = MidtransGateway(
        server_key="SB-Mid-server-X",
        snap_base_url=html_server["url"] + "/snap/v1",
        max_retries=2,
        backoff_seconds=0.01,
    )
    with pytest.raises(MidtransUnavailable, match="HTTP 502"):
        gateway.create_snap_transaction(snap_params())
    assert html_server["count"] == 3


def test_get_status_is_none_until_the_customer_picks_a_method(midtrans_sim):
    gateway = gateway_for(midtrans_sim)
    gateway.create_snap_transaction(snap_params("T-STATUS-1"))

    assert gateway.get_status("T-STATUS-1") is None
    assert gateway.get_status("T-NEVER-CREATED-1") is None

    midtrans_sim.simulator.customer_action("T-STATUS-1", "choose")
    status = gateway.get_status("T-STATUS-1")
    assert status["transaction_status"] == "pending"
    assert status["order_id"] == "T-STATUS-1"
    assert status["va_numbers"][0]["bank"] == "bca"


def test_get_status_retries_5xx(midtrans_sim):
    gateway = gateway_for(midtrans_sim)
    gateway.create_snap_transaction(snap_params("T-STATUS-2"))
    midtrans_sim.simulator.customer_action("T-STATUS-2", "pay")
    midtrans_sim.simulator.fail_next(count=1, status=500, path_prefix="/v2/")

    assert gateway.get_status("T-STATUS-2")["transaction_status"] == "settlement"


def test_expire_and_cancel(midtrans_sim):
    gateway = gateway_for(midtrans_sim)
    gateway.create_snap_transaction(snap_params("T-EXP-1"))
    gateway.create_snap_transaction(snap_params("T-CAN-1"))

    assert gateway.expire("T-EXP-1")["transaction_status"] == "expire"
    assert gateway.cancel("T-CAN-1")["transaction_status"] == "cancel"

    with pytest.raises(MidtransRejected) as excinfo:
        gateway.cancel("T-CAN-1")  # already final
    assert excinfo.value.http_status == 412
    with pytest.raises(MidtransRejected) as excinfo:
        gateway.expire("T-UNKNOWN-1")
    assert excinfo.value.http_status == 404
    midtrans_sim.simulator.wait_for_notifications()


def test_the_server_key_never_reaches_the_logs(midtrans_sim, caplog):
    caplog.set_level(logging.DEBUG)
    key = midtrans_sim.simulator.server_key
    gateway = gateway_for(midtrans_sim)
    midtrans_sim.simulator.fail_next(count=1, status=500)
    gateway.create_snap_transaction(snap_params())
    midtrans_sim.simulator.fail_next(count=1, status=400)
    with pytest.raises(MidtransRejected) as excinfo:
        gateway.create_snap_transaction(snap_params())

    assert "HTTP 500" in caplog.text and "HTTP 400" in caplog.text
    assert key not in caplog.text
    assert key not in str(excinfo.value)
    assert key not in repr(gateway)


# --- manage.py midtrans_simulator ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def test_the_simulator_command_refuses_to_run_when_disabled(settings):
    from django.core.management import CommandError, call_command

    settings.MIDTRANS_SIMULATOR_ENABLED = False
    with pytest.raises(CommandError, match="disabled"):
        call_command("midtrans_simulator", "--port", "0")


def test_the_simulator_command_never_runs_with_production_settings():
    from buatfilm.testing import production_env

    env = production_env(MIDTRANS_SIMULATOR_ENABLED="true")  # production ignores it
    result = subprocess.run(
        [sys.executable, "manage.py", "midtrans_simulator", "--port", str(_free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Production does not even install the command (devtools is not in its INSTALLED_APPS).
    assert result.returncode != 0
    assert "Unknown command" in result.stderr or "ImproperlyConfigured" in result.stderr
    assert "SIMULATOR" not in result.stdout


def test_the_simulator_command_serves_snap_and_says_so_loudly():
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "buatfilm.settings.test",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "midtrans_simulator", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 30
        while "Notifications go to" not in banner and time.monotonic() < deadline:
            banner += process.stdout.readline()
        assert "payments are SIMULATED" in banner
        assert f"http://127.0.0.1:{port}/snap/v1" in banner
        gateway = MidtransGateway(
            server_key="SB-Mid-server-TEST-KEY",  # buatfilm.settings.test
            snap_base_url=f"http://127.0.0.1:{port}/snap/v1",
            max_retries=0,
        )
        assert gateway.create_snap_transaction(snap_params())["token"]
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Midtrans simulator stopped." in output
