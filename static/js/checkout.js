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

/* Promo preview in place: "Terapkan" fetches the server-rendered price for the typed code
   (GET /checkout/<code>/?promo_code=...) and swaps the summary and the promo error. Without
   JavaScript the same button posts the form and the server re-renders it. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-checkout-form]");
  var button = form && form.querySelector("[data-apply-promo]");
  if (!button || !window.fetch || !window.DOMParser) { return; }
  var input = form.querySelector("input[name=promo_code]");

  function swap(fresh, selector) {
    var mine = document.querySelector(selector), theirs = fresh.querySelector(selector);
    if (mine && theirs) { mine.replaceWith(theirs); }
  }

  function apply(event) {
    event.preventDefault();
    var url = form.getAttribute("action") + "?promo_code=" + encodeURIComponent(input.value);
    button.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        swap(fresh, "[data-price-summary]");
        swap(fresh, "[data-promo-errors]");
        var error = document.querySelector("[data-promo-errors] .errorlist");
        input.setAttribute("aria-invalid", error ? "true" : "false");
        if (error) { input.setAttribute("aria-describedby", "id_promo_code_error"); }
        var field = document.querySelector("[data-promo]");
        if (field) { field.classList.toggle("field-invalid", !!error); }
      })
      .catch(function () { form.requestSubmit ? form.requestSubmit(button) : form.submit(); })
      .then(function () { button.removeAttribute("aria-busy"); });
  }

  button.addEventListener("click", apply);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { apply(event); }
  });
})();
