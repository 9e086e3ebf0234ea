/* Copy buttons on the payment panel: the buttons are hidden without JavaScript (the numbers are
   selectable on their own: user-select: all), shown here, and say "Tersalin" once copied. */
(function () {
  "use strict";
  var status = document.querySelector("[data-copy-status]");

  function fallbackCopy(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    return ok;
  }

  function copied(button) {
    button.textContent = "Tersalin ✓";
    button.classList.add("is-copied");
    if (status) { status.textContent = "Tersalin ke papan klip."; }
    window.setTimeout(function () {
      button.textContent = "Salin";
      button.classList.remove("is-copied");
    }, 2500);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    if (!target) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = target.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button); }, function () {
          if (fallbackCopy(target)) { copied(button); }
        });
      } else if (fallbackCopy(target)) {
        copied(button);
      }
    });
  });
  document.querySelectorAll("[data-copy-fallback]").forEach(function (node) {
    node.textContent = "Tekan Salin, atau tekan lama angkanya untuk menyalin.";
  });
})();
