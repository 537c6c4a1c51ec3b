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
  // Long multi-selects (categories, labels, versions) get a filter box above them: typing
  // hides the options that do not match, chosen ones stay in view. Without JavaScript the
  // native control works as before.
  document.querySelectorAll("select[multiple]").forEach((select) => {
    if (select.options.length <= 10 || select.dataset.filterable === "done") return;
    select.dataset.filterable = "done";
    const box = document.createElement("input");
    box.type = "search";
    box.className = "select-filter form-control form-control-sm";
    box.placeholder = document.body.dataset.filterText || "Filter";
    const name = select.labels.length ? select.labels[0].textContent.trim() : select.name;
    box.setAttribute("aria-label", `${box.placeholder}: ${name}`);
    box.setAttribute("aria-controls", select.id);
    const chosen = document.createElement("p");
    chosen.className = "muted select-chosen";
    chosen.setAttribute("aria-live", "polite");
    const count = () => {
      const n = select.selectedOptions.length;
      chosen.textContent = n ? `${n} / ${select.options.length}` : "";
    };
    box.addEventListener("input", () => {
      const words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      for (const option of select.options) {
        const text = `${option.textContent} ${option.value}`.toLowerCase();
        option.hidden = !option.selected && !words.every((word) => text.includes(word));
      }
    });
    select.addEventListener("change", count);
    select.before(box);
    select.after(chosen);
    count();
  });
  // CSRF token for HTMX requests, read from the cookie-free meta tag in base.html.
  const token = document.querySelector('meta[name="csrf-token"]');
  if (token && window.htmx) {
    document.body.addEventListener("htmx:configRequest", (event) => {
      event.detail.headers["X-CSRFToken"] = token.content;
    });
  }
});
