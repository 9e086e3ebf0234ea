/* Receipt: the print button (print CSS hides the site chrome; "Save as PDF" gives a PDF). */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
