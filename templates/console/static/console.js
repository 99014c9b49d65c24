// Maktab console: progressive enhancement only; every page works without it.
// Live SMS segment count of the broadcast composer: GSM-7 (160, 153 per part) unless a
// character forces UCS-2 (70, 67 per part). The server counts again at the preview.
"use strict";
(function () {
  var basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var extension = "^{}\\[~]|€\f";
  function segments(text) {
    var septets = 0, gsm = true, units = 0;
    for (var i = 0; i < text.length; i++) {
      var ch = text.charAt(i);
      if (basic.indexOf(ch) >= 0) { septets += 1; }
      else if (extension.indexOf(ch) >= 0) { septets += 2; }
      else { gsm = false; }
      units += 1;
    }
    if (text.length === 0) { return 0; }
    if (gsm) { return septets <= 160 ? 1 : Math.ceil(septets / 153); }
    return units <= 70 ? 1 : Math.ceil(units / 67);
  }
  document.querySelectorAll("textarea[data-segments]").forEach(function (area) {
    var out = document.getElementById(area.getAttribute("data-segments"));
    var update = function () { if (out) { out.textContent = String(segments(area.value)); } };
    area.addEventListener("input", update);
    update();
  });
  var form = document.getElementById("import-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      // The error rows come back as a download: the page stays, so no bar.
      if (event.submitter && event.submitter.id === "download-errors") { return; }
      var bar = document.getElementById("upload-progress");
      if (bar) { bar.hidden = false; }
    });
  }
})();
