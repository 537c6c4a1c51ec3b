// Keys for judging customers' corrections on the category page and in the inbox (rows with
// data-item, their buttons in triage/_correction_review.html): j / k move between items,
// a accepts the focused item's correction, r rejects it, l opens its label box to relabel
// (Enter confirms, Escape goes back to the item). Keys typed into a text box are the box's.
(function () {
  "use strict";
  if (window.vocVerdicts) return; // loaded once, whatever swaps the inbox's results
  window.vocVerdicts = true;

  const rows = () => Array.from(document.querySelectorAll("tr[data-item]"));
  const press = (row, verdict) => {
    const button = row.querySelector(`button[data-verdict="${verdict}"]`);
    if (button) button.click();
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const row = target.closest ? target.closest("tr[data-item]") : null;
    if (target.matches && target.matches("input.relabel")) {
      if (event.key === "Enter" && row) {
        press(row, "relabel"); // not the form's default button (disabled on purpose)
        event.preventDefault();
      } else if (event.key === "Escape" && row) {
        row.focus();
        event.preventDefault();
      }
      return;
    }
    if (target.matches && target.matches("input[type=text], input[type=search], input:not([type]), textarea, select")) return;
    if (event.key === "j" || event.key === "k") {
      const all = rows();
      if (!all.length) return;
      const at = row ? all.indexOf(row) : -1;
      const next = event.key === "j" ? Math.min(all.length - 1, at + 1) : Math.max(0, at - 1);
      all[at < 0 ? 0 : next].focus();
      event.preventDefault();
      return;
    }
    if (!row) return;
    if (event.key === "a") {
      press(row, "accept");
      event.preventDefault();
    } else if (event.key === "r") {
      press(row, "reject");
      event.preventDefault();
    } else if (event.key === "l") {
      const box = row.querySelector("input.relabel");
      if (box) box.focus();
      event.preventDefault();
    }
  });

  // Back from a verdict, at the item judged: focus it so the keys go on from there.
  const focusFromHash = () => {
    const match = /^#item-(\d+)$/.exec(window.location.hash);
    const row = match ? document.querySelector(`tr[data-item="${match[1]}"]`) : null;
    if (row) row.focus();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", focusFromHash);
  else focusFromHash();
})();
