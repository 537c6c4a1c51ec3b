// Drag a card to another column to change its state (the "Move" buttons do the same without
// dragging). Uses htmx so the server's response moves the card exactly as a button would.
document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("board");
  if (!board || !window.htmx) return;
  let dragged = null;

  board.addEventListener("dragstart", (event) => {
    const card = event.target.closest(".category-card[draggable=true]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.category);
    card.classList.add("dragging");
  });
  board.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("dragging");
    board.querySelectorAll(".column.drop-target").forEach((c) => c.classList.remove("drop-target"));
    dragged = null;
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });
  board.addEventListener("dragleave", (event) => {
    const column = event.target.closest(".column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });
  // Column counts follow the cards. A column showing all its cards counts them; one showing
  // the first few ("Show all N") moves its total by the cards that came or went since the
  // page was drawn.
  const cardsOf = (column) => column.querySelectorAll(".cards > .category-card").length;
  const baseline = new Map();
  board.querySelectorAll(".column").forEach((column) => {
    const total = Number(column.querySelector("h2 .count").textContent);
    baseline.set(column, { total: total, shown: cardsOf(column) });
  });
  // Watched, not hooked to htmx's events: a moved card's own element is gone before they fire.
  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      recount();
    });
  }).observe(board, { childList: true, subtree: true });
  const recount = () => {
    board.querySelectorAll(".column").forEach((column) => {
      const start = baseline.get(column);
      const shown = cardsOf(column);
      const partial = column.querySelector(".cards > a.more") !== null;
      const total = partial ? start.total + shown - start.shown : shown;
      const count = column.querySelector("h2 .count");
      // Written only when it changes: every write is a mutation this observer would see.
      if (count.textContent !== String(total)) count.textContent = String(total);
      const cards = column.querySelector(".cards");
      const empty = cards.querySelector(":scope > .empty");
      if (shown && empty) empty.remove();
      if (!shown && !empty) {
        const note = document.createElement("p");
        note.className = "text-body-secondary small mx-1 empty";
        note.textContent = board.dataset.emptyText;
        cards.prepend(note);
      }
    });
  };
  board.addEventListener("drop", (event) => {
    const column = event.target.closest(".column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const card = dragged;
    if (card.closest(".column") === column) return;
    window.htmx.ajax("POST", card.dataset.stateUrl, {
      target: "#" + card.id,
      swap: "outerHTML",
      values: { state: column.dataset.state },
    });
  });
});
