/* Order status page: live countdown and auto-refresh.

   The countdown never trusts the phone's clock: the server sends its own "now" and expires_at,
   and we count down their difference with the monotonic performance.now(). Every poll of
   GET /api/orders/<id>/ re-syncs it. When the status or the payment details change, the page
   reloads to render the new server truth. */
(function () {
  "use strict";
  var root = document.getElementById("order-status");
  if (!root) { return; }

  var POLL_MS = 5000;
  var countdown = root.querySelector("[data-countdown]");
  var live = root.querySelector("[data-live]");
  var remainingAtSync = null;   // ms left according to the server at syncedAt
  var syncedAt = 0;
  var failures = 0;

  function parseTime(value) {
    // "2026-11-25T08:37:05.123456+00:00": keep milliseconds only, for every browser.
    return Date.parse(String(value).replace(/(\.\d{3})\d+/, "$1"));
  }

  function sync(serverNow, expiresAt) {
    var left = parseTime(expiresAt) - parseTime(serverNow);
    if (!isNaN(left)) {
      remainingAtSync = left;
      syncedAt = performance.now();
    }
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function render() {
    if (!countdown || remainingAtSync === null) { return; }
    var ms = remainingAtSync - (performance.now() - syncedAt);
    if (ms <= 0) {
      countdown.textContent = "Waktu habis";
      countdown.classList.add("countdown-over");
      return;
    }
    var total = Math.floor(ms / 1000);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    countdown.textContent = pad(h) + ":" + pad(m) + ":" + pad(s);
    countdown.setAttribute("aria-label", "Sisa waktu " + h + " jam " + m + " menit " + s + " detik");
  }

  function detailOf(payment) {
    payment = payment || {};
    return [payment.status, payment.transaction_status, payment.va_number, payment.bill_key]
      .map(function (v) { return v == null ? "" : String(v); }).join("|");
  }

  function poll() {
    var request = new XMLHttpRequest();
    request.open("GET", root.getAttribute("data-api-url"));
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-Order-Key", root.getAttribute("data-key"));
    request.timeout = 8000;
    request.onload = function () {
      if (request.status !== 200) { return schedule(true); }
      var data;
      try { data = JSON.parse(request.responseText); } catch (e) { return schedule(true); }
      failures = 0;
      sync(data.server_time, data.expires_at);
      if (data.status !== root.getAttribute("data-status") ||
          detailOf(data.payment) !== root.getAttribute("data-detail") ||
          (data.can_retry_payment ? "1" : "0") !== root.getAttribute("data-can-retry")) {
        if (live) { live.textContent = "Status pesanan berubah, memuat ulang…"; }
        window.location.reload();
        return;
      }
      schedule(false);
    };
    request.onerror = request.ontimeout = function () { schedule(true); };
    request.send();
  }

  function schedule(failed) {
    failures = failed ? failures + 1 : 0;
    // Back off gently while offline or rate-limited, up to one minute.
    window.setTimeout(poll, Math.min(60000, POLL_MS * Math.pow(2, failures)));
  }

  sync(root.getAttribute("data-server-now"), root.getAttribute("data-expires-at"));
  if (countdown) {
    render();
    window.setInterval(render, 250);
  }
  if (root.getAttribute("data-poll")) { schedule(false); }
})();
