// The customer's feedback page inside an iframe (?embed=1): tell the embedding page how tall
// the content is, so it can size the frame without a scrollbar (see README, "Embedding").
// Only the height is sent; the target origin is not known in advance, and it is not secret.
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function report() {
    var height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: "voc-feedback:resize", height: height }, "*");
    }
  }
  document.addEventListener("DOMContentLoaded", report);
  window.addEventListener("load", report);
  if (window.ResizeObserver) new ResizeObserver(report).observe(document.documentElement);
})();
