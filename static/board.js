// Drag and drop on the board view: a small enhancement of the move buttons (plain forms) under the CSP.
// Dropping a card on another column submits that card's own move form for the column, so the request,
// its version check and the conflict page are exactly those of the button. Without JavaScript, the buttons.
(function () {
  "use strict";
  var dragged = null;
  document.querySelectorAll(".board-card").forEach(function (card) {
    if (!card.querySelector("form.move")) { return; }  // a viewer's card: nothing to move
    card.setAttribute("draggable", "true");
    card.addEventListener("dragstart", function (event) {
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.task);
    });
    card.addEventListener("dragend", function () { card.classList.remove("dragging"); dragged = null; });
  });
  document.querySelectorAll(".board-column").forEach(function (column) {
    function target() {
      return dragged && dragged.querySelector('form.move input[name="status"][value="' + column.dataset.status + '"]');
    }
    column.addEventListener("dragover", function (event) {
      if (target()) { event.preventDefault(); column.classList.add("drop-target"); }
    });
    column.addEventListener("dragleave", function () { column.classList.remove("drop-target"); });
    column.addEventListener("drop", function (event) {
      var input = target();
      column.classList.remove("drop-target");
      if (input) { event.preventDefault(); input.form.submit(); }
    });
  });
}());
