/* Checkout: one submit per click. The server is idempotent anyway (one-time form token); this
   only spares the customer a second wait and says that something is happening. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  document.querySelectorAll("form[data-checkout-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-submit]");
      if (!button) { return; }
      // Disable after this event so the button's own value is still submitted.
      window.setTimeout(function () {
        button.disabled = true;
        button.setAttribute("aria-busy", "true");
        button.textContent = "Memproses…";
      }, 0);
    });
  });
})();
