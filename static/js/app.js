// Shared behaviour of the team pages. No inline scripts anywhere (the CSP forbids them).
document.addEventListener("DOMContentLoaded", () => {
  if (window.htmx) {
    // No eval: hx-on and js: expressions stay disabled under the Content-Security-Policy.
    window.htmx.config.allowEval = false;
    window.htmx.config.includeIndicatorStyles = false;
  }
  // A form marked data-reset-on-success empties once HTMX has sent it (a comment box).
  document.body.addEventListener("htmx:afterRequest", (event) => {
    const form = event.detail.elt;
    if (event.detail.successful && form.matches && form.matches("form[data-reset-on-success]")) {
      form.reset();
    }
  });
  // CSRF token for HTMX requests, read from the cookie-free meta tag in base.html.
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token && window.htmx) {
    document.body.addEventListener("htmx:configRequest", (event) => {
      event.detail.headers["X-CSRFToken"] = token.content;
    });
  }
});
