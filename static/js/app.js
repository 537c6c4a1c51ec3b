// Shared behaviour of the team pages. No inline scripts anywhere (the CSP forbids them).
document.addEventListener("DOMContentLoaded", () => {
  if (window.htmx) {
    // No eval: hx-on and js: expressions stay disabled under the Content-Security-Policy.
    window.htmx.config.allowEval = false;
    window.htmx.config.includeIndicatorStyles = false;
  }
  // CSRF token for HTMX requests, read from the cookie-free meta tag in base.html.
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token && window.htmx) {
    document.body.addEventListener("htmx:configRequest", (event) => {
      event.detail.headers["X-CSRFToken"] = token.content;
    });
  }
});
