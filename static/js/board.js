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
