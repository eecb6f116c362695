// Keyboard review of pending donations: arrows/J/K move, U unlocks, R rejects, O opens.
(function () {
  "use strict";
  const grid = document.getElementById("review-grid");
  if (!grid) return;
  const status = document.getElementById("review-status");
  const cards = Array.from(grid.querySelectorAll(".review-card"));
  const csrfToken = grid.querySelector('input[name="csrfmiddlewaretoken"]').value;
  let current = 0;

  function focusCard(index) {
    if (!cards.length) return;
    current = Math.max(0, Math.min(index, cards.length - 1));
    cards.forEach(function (card, i) { card.classList.toggle("focused", i === current); });
    cards[current].focus();
  }

  function nextUndecided(from) {
    for (let i = from; i < cards.length; i += 1) if (!cards[i].dataset.decided) return i;
    return from;
  }

  async function decide(card, decision) {
    if (card.dataset.decided) return;
    const data = new FormData();
    data.append("image_id", card.dataset.imageId);
    data.append("decision", decision);
    const response = await fetch(grid.dataset.decideUrl, {
      method: "POST",
      body: data,
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await response.json().catch(function () { return {}; });
    if (!response.ok) {
      status.textContent = body.detail || "Could not save the decision (HTTP " + response.status + ").";
      return;
    }
    card.dataset.decided = decision;
    card.classList.add("decided", "decided-" + decision);
    card.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    status.textContent = "Image " + body.id + " " + body.status + ".";
    focusCard(nextUndecided(cards.indexOf(card)));
  }

  grid.addEventListener("submit", function (event) {
    event.preventDefault();
    const button = event.submitter;
    decide(event.target.closest(".review-card"), button ? button.value : "unlocked");
  });
  grid.addEventListener("click", function (event) {
    const card = event.target.closest(".review-card");
    if (card && !event.target.closest("button, a")) focusCard(cards.indexOf(card));
  });
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.matches("input, textarea, select")) return;
    const card = cards[current];
    switch (event.key) {
      case "ArrowRight": case "j": case "J": focusCard(current + 1); break;
      case "ArrowLeft": case "k": case "K": focusCard(current - 1); break;
      case "u": case "U": if (card) decide(card, "unlocked"); break;
      case "r": case "R": if (card) decide(card, "rejected"); break;
      case "o": case "O": if (card) window.open(card.dataset.fullUrl, "_blank", "noopener"); break;
      default: return;
    }
    event.preventDefault();
  });
  focusCard(0);
})();
