"""Tests for the local Midtrans simulator, driven through the real ``midtransclient`` SDK.

Why: the rest of the suite trusts the simulator to behave like Midtrans (responses that make
the SDK react as in production, signed webhooks, failure/timeout knobs), so that behaviour is
pinned here over real HTTP, without Django.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

import midtransclient
import pytest
import requests
from midtransclient.error_midtrans import MidtransAPIError

from devtools.midtrans_simulator import SimulatorServer, TransactionNotFoundError, sign_notification

SERVER_KEY = "SB-Mid-server-SIMULATOR-TEST"
FINISH_URL = "http://127.0.0.1:9/orders/finish/?ref=abc"
AMOUNT = 499000


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


class NotificationReceiver:
    """Stand-in for the shop's webhook endpoint: records every POST, answers ``status``."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[dict[str, Any]] = []
        self.content_types: list[str] = []
        self._lock = threading.Lock()
        self._httpd = make_server("127.0.0.1", 0, self._app, handler_class=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._httpd.server_port}/payments/midtrans/notification/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _app(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with self._lock:
            self.received.append(json.loads(body))
            self.content_types.append(environ.get("CONTENT_TYPE", ""))
        start_response(f"{self.status} Test", [("Content-Type", "text/plain")])
        return [b"ok"]

    def payloads(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.received)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[NotificationReceiver]:
    server = NotificationReceiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def sim(receiver: NotificationReceiver) -> Iterator[SimulatorServer]:
    with SimulatorServer(server_key=SERVER_KEY, notification_url=receiver.url) as server:
        yield server
        assert server.simulator.wait_for_notifications(timeout=5)


def make_snap(sim: SimulatorServer, server_key: str = SERVER_KEY) -> midtransclient.Snap:
    snap = midtransclient.Snap(is_production=False, server_key=server_key)
    snap.api_config.SNAP_SANDBOX_BASE_URL = sim.snap_base_url
    return snap


def make_core(sim: SimulatorServer, server_key: str = SERVER_KEY) -> midtransclient.CoreApi:
    core = midtransclient.CoreApi(is_production=False, server_key=server_key)
    core.api_config.CORE_SANDBOX_BASE_URL = sim.api_base_url
    return core


@pytest.fixture
def snap(sim: SimulatorServer) -> midtransclient.Snap:
    return make_snap(sim)


@pytest.fixture
def core(sim: SimulatorServer) -> midtransclient.CoreApi:
    return make_core(sim)


def new_order_id() -> str:
    return f"BF-{uuid.uuid4().hex[:12]}"


def snap_params(order_id: str, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "transaction_details": {"order_id": order_id, "gross_amount": AMOUNT},
        "item_details": [
            {"id": "course-1", "price": AMOUNT, "quantity": 1, "name": "Kelas Membuat Film"}
        ],
        "customer_details": {"first_name": "Budi", "email": "budi@example.com"},
        "enabled_payments": ["bca_va", "echannel", "other_qris"],
        "callbacks": {"finish": FINISH_URL},
    }
    params.update(overrides)
    return params


def create(snap: midtransclient.Snap, **overrides: Any) -> tuple[str, str]:
    """Create a Snap transaction; returns (order_id, token)."""
    order_id = new_order_id()
    response = snap.create_transaction(snap_params(order_id, **overrides))
    return order_id, response["token"]


def page_action(
    sim: SimulatorServer, token: str, action: str, method: str | None = None
) -> requests.Response:
    """Submit the payment page form the way a browser does, without following the redirect."""
    data = {"action": action, **({"payment_method": method} if method else {})}
    return requests.post(
        f"{sim.base_url}/snap/v4/redirection/{token}/{action}",
        data=data,
        allow_redirects=False,
        timeout=10,
    )


def assert_signed(payload: dict[str, Any]) -> None:
    expected = sign_notification(
        payload["order_id"], payload["status_code"], payload["gross_amount"], SERVER_KEY
    )
    assert payload["signature_key"] == expected


def test_sign_notification_is_sha512_of_concatenated_fields() -> None:
    raw = f"ORDER-1200499000.00{SERVER_KEY}".encode()
    assert sign_notification("ORDER-1", "200", "499000.00", SERVER_KEY) == (
        hashlib.sha512(raw).hexdigest()
    )


def test_create_transaction_returns_token_and_redirect_url(
    sim: SimulatorServer, snap: midtransclient.Snap
) -> None:
    order_id = new_order_id()
    params = snap_params(order_id)

    response = snap.create_transaction(params)

    token = response["token"]
    assert uuid.UUID(token)
    assert response["redirect_url"] == f"{sim.base_url}/snap/v4/redirection/{token}"
    stored = sim.simulator.transaction(order_id)
    assert stored is not None
    assert stored["request_body"] == params
    assert stored["enabled_payments"] == ["bca_va", "echannel", "other_qris"]
    assert stored["finish_url"] == FINISH_URL
    assert stored["customer_details"] == params["customer_details"]
    assert stored["transaction_status"] is None
    logged = sim.simulator.requests_log[-1]
    assert logged["method"] == "POST"
    assert logged["path"] == "/snap/v1/transactions"
    assert logged["auth_user"] == SERVER_KEY
    assert logged["json"] == params
    assert logged["response_status"] == 201


def test_snap_expiry_sets_expiry_time(sim: SimulatorServer, snap: midtransclient.Snap) -> None:
    order_id, _ = create(snap, expiry={"unit": "minutes", "duration": 90})

    stored = sim.simulator.transaction(order_id)

    assert stored is not None
    created = datetime.strptime(stored["created_at"], "%Y-%m-%d %H:%M:%S")
    expiry = datetime.strptime(stored["expiry_time"], "%Y-%m-%d %H:%M:%S")
    assert expiry - created == timedelta(minutes=90)


def test_reused_order_id_gets_a_fresh_token_until_a_method_is_picked_then_400(
    sim: SimulatorServer, snap: midtransclient.Snap
) -> None:
    # https://docs.midtrans.com/docs/error-code-and-response-code
    order_id = new_order_id()
    first = snap.create_transaction(snap_params(order_id))
    again = snap.create_transaction(snap_params(order_id))
    assert again["token"] != first["token"]
    assert sim.simulator.transaction(order_id)["token"] == again["token"]

    sim.simulator.customer_action(order_id, "choose", "bca_va")
    with pytest.raises(MidtransAPIError) as caught:
        snap.create_transaction(snap_params(order_id))

    assert caught.value.http_status_code == 400
    assert caught.value.api_response_dict == {
        "error_messages": ["transaction_details.order_id sudah digunakan"]
    }


def test_wrong_server_key_is_rejected_with_401(sim: SimulatorServer) -> None:
    with pytest.raises(MidtransAPIError) as snap_error:
        make_snap(sim, "SB-Mid-server-WRONG").create_transaction(snap_params(new_order_id()))
    with pytest.raises(MidtransAPIError) as core_error:
        make_core(sim, "SB-Mid-server-WRONG").transactions.status("whatever")

    assert snap_error.value.http_status_code == 401
    assert snap_error.value.api_response_dict["error_messages"] == [
        "Access denied due to unauthorized transaction, please check client or server key"
    ]
    assert core_error.value.http_status_code == 401


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"item_details": [{"id": "x", "price": 1000, "quantity": 1, "name": "Kelas"}]},
            "transaction_details.gross_amount is not equal to the sum of item_details",
        ),
        (
            {"transaction_details": {"order_id": "BF 1/2", "gross_amount": AMOUNT}},
            "transaction_details.order_id may only contain",
        ),
        (
            {"transaction_details": {"order_id": "B" * 51, "gross_amount": AMOUNT}},
            "transaction_details.order_id too long",
        ),
        (
            {"transaction_details": {"order_id": "BF-1", "gross_amount": "499000.00"}},
            "transaction_details.gross_amount must be a positive integer",
        ),
        (
            {"transaction_details": {"gross_amount": AMOUNT}},
            "transaction_details.order_id is required",
        ),
        ({"enabled_payments": ["bitcoin"]}, "enabled_payments does not contain"),
    ],
    ids=[
        "item-sum",
        "order-id-chars",
        "order-id-length",
        "amount-string",
        "no-order-id",
        "methods",
    ],
)
def test_invalid_snap_requests_are_rejected_with_400(
    snap: midtransclient.Snap, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(MidtransAPIError) as caught:
        snap.create_transaction(snap_params(new_order_id(), **overrides))

    assert caught.value.http_status_code == 400
    assert any(message in error for error in caught.value.api_response_dict["error_messages"])


def test_malformed_snap_body_is_rejected_with_400(sim: SimulatorServer) -> None:
    response = requests.post(
        f"{sim.snap_base_url}/transactions", data="{", auth=(SERVER_KEY, ""), timeout=10
    )

    assert response.status_code == 400
    assert response.json()["error_messages"]


def test_status_is_404_until_the_customer_chooses_a_method(
    snap: midtransclient.Snap, core: midtransclient.CoreApi
) -> None:
    order_id, _ = create(snap)

    for unknown in (order_id, "never-created"):
        with pytest.raises(MidtransAPIError) as caught:
            core.transactions.status(unknown)
        # Real Core API: HTTP 200, the 404 is in the body (the SDK raises on it).
        assert caught.value.http_status_code == 200
        assert caught.value.api_response_dict == {
            "status_code": "404",
            "status_message": "Transaction doesn't exist.",
        }


def test_choosing_a_method_makes_a_pending_va_transaction(
    sim: SimulatorServer,
    snap: midtransclient.Snap,
    core: midtransclient.CoreApi,
    receiver: NotificationReceiver,
) -> None:
    order_id, token = create(snap)

    response = page_action(sim, token, "choose", "bni_va")

    assert response.status_code == 400  # bni_va was not in enabled_payments
    response = page_action(sim, token, "choose", "bca_va")
    assert response.status_code == 303
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["transaction_status"] == ["pending"]
    assert query["status_code"] == ["201"]
    [notification] = receiver.payloads()
    assert notification["transaction_status"] == "pending"
    assert notification["status_code"] == "201"
    assert notification["payment_type"] == "bank_transfer"
    assert notification["va_numbers"][0]["bank"] == "bca"
    assert_signed(notification)
    status = core.transactions.status(order_id)
    assert status["status_code"] == "201"
    assert status["transaction_status"] == "pending"
    assert status["transaction_id"] == notification["transaction_id"]
    assert status["va_numbers"] == notification["va_numbers"]
    assert status["gross_amount"] == "499000.00"
    assert status["currency"] == "IDR"
    assert "settlement_time" not in status
    assert_signed(status)
    # The SDK's notification() helper looks the transaction up by transaction_id.
    by_id = core.transactions.notification({"transaction_id": status["transaction_id"]})
    assert by_id["order_id"] == order_id


def test_echannel_choice_carries_bill_key(
    sim: SimulatorServer, snap: midtransclient.Snap, receiver: NotificationReceiver
) -> None:
    order_id, _ = create(snap)

    [record] = sim.simulator.customer_action(order_id, "choose", "echannel")

    assert record["response_status"] == 200
    [notification] = receiver.payloads()
    assert notification["payment_type"] == "echannel"
    assert notification["biller_code"] == "70012"
    assert re.fullmatch(r"\d{12}", notification["bill_key"])


def test_paying_on_the_page_settles_notifies_and_redirects_to_finish(
    sim: SimulatorServer,
    snap: midtransclient.Snap,
    core: midtransclient.CoreApi,
    receiver: NotificationReceiver,
) -> None:
    order_id, token = create(snap)
    page = requests.get(f"{sim.base_url}/snap/v4/redirection/{token}", timeout=10)
    assert page.status_code == 200
    assert order_id in page.text
    assert "Rp 499.000" in page.text
    for element_id in ("sim-method", "sim-choose", "sim-pay", "sim-fail", "sim-expire"):
        assert f'id="{element_id}"' in page.text
    pay_button = re.search(r'<button[^>]*id="sim-pay"[^>]*formaction="([^"]+)"', page.text)
    assert pay_button is not None

    response = requests.post(
        f"{sim.base_url}{pay_button.group(1)}",
        data={"payment_method": "bca_va"},
        allow_redirects=False,
        timeout=10,
    )

    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == FINISH_URL.split("?")[0]
    assert parse_qs(location.query) == {
        "ref": ["abc"],
        "order_id": [order_id],
        "status_code": ["200"],
        "transaction_status": ["settlement"],
    }
    pending, settlement = receiver.payloads()
    assert pending["transaction_status"] == "pending"
    assert settlement["transaction_status"] == "settlement"
    assert settlement["status_code"] == "200"
    assert settlement["fraud_status"] == "accept"
    assert settlement["gross_amount"] == "499000.00"
    assert settlement["status_message"] == "midtrans payment notification"
    assert settlement["settlement_time"]
    assert settlement["transaction_id"] == pending["transaction_id"]
    assert_signed(pending)
    assert_signed(settlement)
    assert receiver.content_types == ["application/json", "application/json"]
    stored = sim.simulator.transaction(order_id)
    assert stored is not None
    assert [n["response_status"] for n in stored["notifications"]] == [200, 200]
    assert core.transactions.status(order_id)["transaction_status"] == "settlement"
    # A finished transaction cannot be paid again.
    assert page_action(sim, token, "pay").status_code == 409


def test_page_without_finish_url_shows_the_result(
    sim: SimulatorServer, snap: midtransclient.Snap, receiver: NotificationReceiver
) -> None:
    order_id, token = create(snap, callbacks=None)

    response = page_action(sim, token, "fail")

    assert response.status_code == 200
    assert order_id in response.text
    assert 'id="sim-status">deny<' in response.text
    assert [p["transaction_status"] for p in receiver.payloads()] == ["pending", "deny"]


def test_fail_next_answers_errors_then_recovers(
    sim: SimulatorServer, snap: midtransclient.Snap, core: midtransclient.CoreApi
) -> None:
    control = requests.post(
        f"{sim.base_url}/_sim/fail-next",
        json={"count": 1, "status": 503, "path_prefix": "/snap/v1/transactions"},
        timeout=10,
    )
    assert control.status_code == 200
    params = snap_params(new_order_id())

    with pytest.raises(MidtransAPIError) as caught:
        core.transactions.status("not-matching-the-prefix")
    assert caught.value.api_response_dict["status_code"] == "404"
    with pytest.raises(MidtransAPIError) as caught:
        snap.create_transaction(params)
    assert caught.value.http_status_code == 503
    assert "error_messages" in caught.value.api_response_dict

    assert snap.create_transaction(params)["token"]  # failure did not store the order

    sim.simulator.fail_next(count=1, status=500)
    with pytest.raises(MidtransAPIError) as caught:
        core.transactions.status(params["transaction_details"]["order_id"])
    assert caught.value.http_status_code == 500
    assert caught.value.api_response_dict["status_code"] == "500"


def test_delay_next_makes_the_client_time_out_once(
    sim: SimulatorServer, snap: midtransclient.Snap
) -> None:
    control = requests.post(
        f"{sim.base_url}/_sim/delay-next", json={"count": 1, "seconds": 0.6}, timeout=10
    )
    assert control.status_code == 200
    url = f"{sim.api_base_url}/v2/nothing/status"

    with pytest.raises(requests.ReadTimeout):
        requests.get(url, auth=(SERVER_KEY, ""), timeout=0.2)

    started = time.monotonic()
    assert requests.get(url, auth=(SERVER_KEY, ""), timeout=5).json()["status_code"] == "404"
    assert time.monotonic() - started < 0.5


def test_delay_next_through_the_sdk(sim: SimulatorServer, snap: midtransclient.Snap) -> None:
    sim.simulator.delay_next(count=1, seconds=0.3, path_prefix="/snap/v1/")

    started = time.monotonic()
    create(snap)
    delayed = time.monotonic() - started
    started = time.monotonic()
    create(snap)

    assert delayed >= 0.3
    assert time.monotonic() - started < 0.3


@pytest.mark.parametrize("choose_first", [True, False])
def test_expire_open_transaction_returns_407_and_notifies(
    sim: SimulatorServer,
    snap: midtransclient.Snap,
    core: midtransclient.CoreApi,
    receiver: NotificationReceiver,
    choose_first: bool,
) -> None:
    order_id, _ = create(snap)
    if choose_first:
        sim.simulator.customer_action(order_id, "choose", "other_qris")

    response = core.transactions.expire(order_id)

    assert response["status_code"] == "407"
    assert response["transaction_status"] == "expire"
    assert sim.simulator.wait_for_notifications(timeout=5)
    last = receiver.payloads()[-1]
    assert last["transaction_status"] == "expire"
    assert last["status_code"] == "202"
    assert_signed(last)
    assert core.transactions.status(order_id)["transaction_status"] == "expire"


def test_cancel_pending_transaction(
    sim: SimulatorServer,
    snap: midtransclient.Snap,
    core: midtransclient.CoreApi,
    receiver: NotificationReceiver,
) -> None:
    order_id, _ = create(snap)
    sim.simulator.customer_action(order_id, "choose")

    response = core.transactions.cancel(order_id)

    assert response["status_code"] == "200"
    assert response["transaction_status"] == "cancel"
    assert sim.simulator.wait_for_notifications(timeout=5)
    assert receiver.payloads()[-1]["transaction_status"] == "cancel"


def test_expire_or_cancel_settled_transaction_is_412(
    sim: SimulatorServer, snap: midtransclient.Snap, core: midtransclient.CoreApi
) -> None:
    order_id, _ = create(snap)
    sim.simulator.customer_action(order_id, "pay")

    for modify in (core.transactions.expire, core.transactions.cancel):
        with pytest.raises(MidtransAPIError) as caught:
            modify(order_id)
        assert caught.value.http_status_code == 200
        assert caught.value.api_response_dict["status_code"] == "412"
        assert caught.value.api_response_dict["status_message"] == (
            "Merchant cannot modify the status of the transaction"
        )
    assert core.transactions.status(order_id)["transaction_status"] == "settlement"


def test_expire_unknown_order_is_404_in_the_body(core: midtransclient.CoreApi) -> None:
    with pytest.raises(MidtransAPIError) as caught:
        core.transactions.expire("never-created")

    assert caught.value.http_status_code == 200
    assert caught.value.api_response_dict["status_code"] == "404"


def test_notify_control_endpoint_sends_signed_notifications(
    sim: SimulatorServer,
    snap: midtransclient.Snap,
    core: midtransclient.CoreApi,
    receiver: NotificationReceiver,
) -> None:
    order_id, _ = create(snap)
    url = f"{sim.base_url}/_sim/transactions/{order_id}/notify"

    answer = requests.post(
        url, json={"transaction_status": "settlement", "payment_type": "echannel"}, timeout=10
    ).json()

    assert answer["response_status"] == 200
    assert answer["payload"] == receiver.payloads()[-1]
    assert answer["payload"]["payment_type"] == "echannel"
    assert answer["payload"]["bill_key"]
    assert_signed(answer["payload"])
    assert core.transactions.status(order_id)["transaction_status"] == "settlement"

    tampered = requests.post(
        url,
        json={
            "transaction_status": "capture",
            "fraud_status": "challenge",
            "gross_amount": "1.00",
            "status_code": "200",
            "extra": {"custom_field1": "x"},
        },
        timeout=10,
    ).json()["payload"]
    assert tampered["gross_amount"] == "1.00"
    assert tampered["fraud_status"] == "challenge"
    assert tampered["custom_field1"] == "x"
    assert_signed(tampered)  # valid signature over the overridden amount

    forged = sim.simulator.notify(order_id, "settlement", extra={"signature_key": "bad"})
    assert forged["payload"]["signature_key"] == "bad"
    assert receiver.payloads()[-1]["signature_key"] == "bad"

    state = requests.get(f"{sim.base_url}/_sim/transactions/{order_id}", timeout=10).json()
    assert state["request_body"]["transaction_details"]["order_id"] == order_id
    assert [n["payload"]["transaction_status"] for n in state["notifications"]] == [
        "settlement",
        "capture",
        "settlement",
    ]


def test_notify_records_the_webhook_answer(
    sim: SimulatorServer, snap: midtransclient.Snap, receiver: NotificationReceiver
) -> None:
    order_id, _ = create(snap)
    receiver.status = 500

    record = sim.simulator.notify(order_id, "deny")

    assert record["response_status"] == 500
    assert record["error"] is None
    stored = sim.simulator.transaction(order_id)
    assert stored is not None
    assert stored["notifications"][-1]["response_status"] == 500

    receiver.status = 301  # Midtrans does not follow redirects (e.g. a missing APPEND_SLASH)
    assert sim.simulator.notify(order_id, "deny")["response_status"] == 301

    sim.simulator.notification_url = "http://127.0.0.1:9/unreachable/"
    unreachable = sim.simulator.notify(order_id, "deny")
    assert unreachable["response_status"] is None
    assert unreachable["error"]


def test_notify_rejects_unknown_orders_and_statuses(
    sim: SimulatorServer, snap: midtransclient.Snap
) -> None:
    order_id, _ = create(snap)

    with pytest.raises(TransactionNotFoundError):
        sim.simulator.notify("never-created", "settlement")
    unknown = requests.post(
        f"{sim.base_url}/_sim/transactions/never-created/notify",
        json={"transaction_status": "settlement"},
        timeout=10,
    )
    invalid = requests.post(
        f"{sim.base_url}/_sim/transactions/{order_id}/notify",
        json={"transaction_status": "paid"},
        timeout=10,
    )

    assert unknown.status_code == 404
    assert invalid.status_code == 400


def test_requests_log_and_reset(sim: SimulatorServer, snap: midtransclient.Snap) -> None:
    order_id, _ = create(snap)

    logged = requests.get(f"{sim.base_url}/_sim/requests", timeout=10).json()
    assert [(r["method"], r["path"]) for r in logged] == [("POST", "/snap/v1/transactions")]

    assert requests.post(f"{sim.base_url}/_sim/reset", timeout=10).status_code == 200
    assert requests.get(f"{sim.base_url}/_sim/requests", timeout=10).json() == []
    assert sim.simulator.transaction(order_id) is None
    missing = requests.get(f"{sim.base_url}/_sim/transactions/{order_id}", timeout=10)
    assert missing.status_code == 404


def test_serve_forever_blocks_until_stopped() -> None:
    server = SimulatorServer(server_key=SERVER_KEY)
    runner = threading.Thread(target=server.serve_forever, daemon=True)
    runner.start()
    deadline = time.monotonic() + 5
    while server.port == 0 and time.monotonic() < deadline:
        time.sleep(0.01)

    response = requests.get(f"{server.base_url}/_sim/requests", timeout=5)
    server.stop()
    runner.join(timeout=5)

    assert response.json() == []
    assert not runner.is_alive()


# --- Real Midtrans shapes (issue 11) -------------------------------------------------------


def test_get_status_codes_407_expired_200_cancelled_webhooks_202(
    sim: SimulatorServer, snap: midtransclient.Snap, core: midtransclient.CoreApi, receiver
) -> None:
    # https://docs.midtrans.com/reference/expire-transaction, .../cancel-transaction
    expired, _ = create(snap)
    sim.simulator.customer_action(expired, "choose", "bca_va")
    assert core.transactions.expire(expired)["status_code"] == "407"
    assert core.transactions.status(expired)["status_code"] == "407"
    cancelled, _ = create(snap)
    sim.simulator.customer_action(cancelled, "choose", "bca_va")
    assert core.transactions.cancel(cancelled)["status_code"] == "200"
    assert core.transactions.status(cancelled)["status_code"] == "200"
    assert sim.simulator.wait_for_notifications(timeout=5)
    codes = {
        (p["order_id"], p["transaction_status"]): p["status_code"] for p in receiver.payloads()
    }
    assert codes[(expired, "expire")] == "202"
    assert codes[(cancelled, "cancel")] == "202"


def test_capture_challenge_is_201(sim: SimulatorServer, snap: midtransclient.Snap) -> None:
    order_id, _ = create(snap, enabled_payments=["credit_card"])
    record = sim.simulator.notify(order_id, "capture", fraud_status="challenge")
    assert record["payload"]["status_code"] == "201"
    assert record["payload"]["signature_key"] == sign_notification(
        order_id, "201", f"{AMOUNT}.00", SERVER_KEY
    )


@pytest.mark.parametrize(
    ("method", "has_fraud"), [("bca_va", True), ("echannel", False), ("credit_card", True)]
)
def test_fraud_status_only_on_channels_that_send_it(
    sim: SimulatorServer, snap: midtransclient.Snap, method: str, has_fraud: bool
) -> None:
    order_id, _ = create(snap, enabled_payments=[method])
    (pending, paid) = sim.simulator.customer_action(order_id, "pay", method)
    assert ("fraud_status" in paid["payload"]) is has_fraud
    assert ("fraud_status" in pending["payload"]) is has_fraud


def test_gopay_paid_from_a_desktop_arrives_as_qris(
    sim: SimulatorServer, snap: midtransclient.Snap
) -> None:
    order_id, _ = create(snap, enabled_payments=["gopay"])
    records = sim.simulator.customer_action(order_id, "pay", "gopay", desktop=True)
    assert [r["payload"]["payment_type"] for r in records] == ["qris", "qris"]
    assert records[-1]["payload"]["issuer"] == "gopay"


def test_refund_is_notified_twice_without_then_with_bank_confirmed_at(
    sim: SimulatorServer, snap: midtransclient.Snap, core: midtransclient.CoreApi
) -> None:
    order_id, _ = create(snap, enabled_payments=["gopay"])
    sim.simulator.customer_action(order_id, "pay", "gopay")
    first, second = sim.simulator.refund(order_id)
    for record in (first, second):
        payload = record["payload"]
        assert payload["transaction_status"] == "refund"
        assert payload["status_code"] == "200"
        assert payload["refund_amount"] == f"{AMOUNT}.00"
    assert "bank_confirmed_at" not in first["payload"]["refunds"][0]
    assert "bank_confirmed_at" in second["payload"]["refunds"][0]
    assert core.transactions.status(order_id)["transaction_status"] == "refund"


def test_dana_is_reachable_only_by_transaction_id_and_has_no_expire(
    sim: SimulatorServer, snap: midtransclient.Snap, core: midtransclient.CoreApi
) -> None:
    # https://docs.midtrans.com/reference/dana
    order_id, _ = create(snap, enabled_payments=["dana"])
    (pending,) = sim.simulator.customer_action(order_id, "choose", "dana")
    transaction_id = pending["payload"]["transaction_id"]
    assert "fraud_status" not in pending["payload"]
    with pytest.raises(MidtransAPIError) as caught:
        core.transactions.status(order_id)
    assert caught.value.api_response_dict["status_code"] == "404"
    assert core.transactions.status(transaction_id)["order_id"] == order_id
    with pytest.raises(MidtransAPIError) as caught:
        core.transactions.expire(transaction_id)
    assert caught.value.api_response_dict["status_code"] == "412"
    with pytest.raises(MidtransAPIError):
        core.transactions.cancel(order_id)
    assert core.transactions.cancel(transaction_id)["transaction_status"] == "cancel"


def test_a_snap_expiry_under_five_minutes_is_refused(snap: midtransclient.Snap) -> None:
    # https://docs.midtrans.com/reference/expire-a-snap-session
    with pytest.raises(MidtransAPIError) as caught:
        create(snap, expiry={"unit": "minute", "duration": 4})
    assert caught.value.http_status_code == 400
    assert create(snap, expiry={"unit": "minute", "duration": 5})[1]


@pytest.mark.parametrize(("status", "deliveries"), [(500, 2), (503, 5), (404, 3), (200, 1)])
def test_redelivery_policy_per_answer(
    sim: SimulatorServer, snap: midtransclient.Snap, receiver, status: int, deliveries: int
) -> None:
    sim.simulator.redeliver = True
    receiver.status = status
    order_id, _ = create(snap)
    record = sim.simulator.notify(order_id, "pending")
    assert record["response_status"] == status
    assert len(receiver.payloads()) == deliveries
    assert len(sim.simulator.transaction(order_id)["notifications"]) == deliveries


def test_redelivery_stops_once_the_shop_answers_200(
    sim: SimulatorServer, snap: midtransclient.Snap, receiver
) -> None:
    sim.simulator.redeliver = True
    receiver.status = 503
    order_id, _ = create(snap)
    original = receiver._app

    def recover_after_two(environ, start_response):  # type: ignore[no-untyped-def]
        if len(receiver.payloads()) >= 2:
            receiver.status = 200
        return original(environ, start_response)

    receiver._httpd.set_app(recover_after_two)
    record = sim.simulator.notify(order_id, "pending")
    assert record["response_status"] == 200
    assert len(receiver.payloads()) == 3
