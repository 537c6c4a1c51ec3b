// Keys of the review queue's labelling page: digits pick a suggested label (0: the model was
// right), / searches every label, Enter confirms, s skips, u undoes the last verdict. Keys
// typed into the search box are the search's, except Enter.
(function () {
  "use strict";
  // The category filter applies as soon as it is chosen.
  document.addEventListener("change", (event) => {
    if (event.target.id === "queue-category") event.target.form.submit();
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const form = document.getElementById("review-form");
    const typing = event.target.matches && event.target.matches("input[type=text], input:not([type]), textarea, select");
    if (typing) return; // Enter in the search box submits the form by itself
    if (/^[0-9]$/.test(event.key) && form) {
      const choice = form.querySelector(`input[data-key="${event.key}"]`);
      if (choice) {
        choice.checked = true;
        choice.focus();
        event.preventDefault();
      }
    } else if (event.key === "/" && form) {
      document.getElementById("label-search").focus();
      event.preventDefault();
    } else if (event.key === "s" && form) {
      document.getElementById("review-skip").click();
      event.preventDefault();
    } else if (event.key === "u") {
      document.getElementById("review-undo").requestSubmit();
      event.preventDefault();
    } else if (event.key === "Enter" && form && !event.target.closest("button, a")) {
      form.requestSubmit();
      event.preventDefault();
    }
  });
})();
