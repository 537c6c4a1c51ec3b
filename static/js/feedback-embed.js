// The customer's feedback page inside an iframe (?embed=1): tell the embedding page how tall
// the content is, so it can size the frame without a scrollbar (see README, "Embedding").
// Only the height is sent; the target origin is not known in advance, and it is not secret.
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function report() {
    // The body's own height: the document's is never less than the frame's, so a page that
    // got shorter (a thank-you in place of a form) would never let the frame shrink.
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: "voc-feedback:resize", height: height }, "*");
    }
  }
  document.addEventListener("DOMContentLoaded", report);
  window.addEventListener("load", report);
  document.addEventListener("DOMContentLoaded", function () {
    if (window.ResizeObserver) new ResizeObserver(report).observe(document.body);
  });
})();
