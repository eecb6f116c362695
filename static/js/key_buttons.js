// One key per answer: pressing a key clicks the element of a [data-key-buttons] form whose
// data-key matches (review: G/B/Space; refinement quiz: 1–9, 0, Q…, D, S).
(function () {
  "use strict";
  const form = document.querySelector("form[data-key-buttons]");
  if (!form) return;
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    if (event.target.closest("input, textarea, select")) return;
    // Space and Enter on a focused button or link press that one, not the shortcut (Space is
    // "not sure" on the review page).
    if ((event.key === " " || event.key === "Enter") && event.target.closest("button, a, summary")) return;
    const key = event.key.toLowerCase();
    const target = Array.from(form.querySelectorAll("[data-key]")).find(function (element) {
      return element.dataset.key === key;
    });
    if (!target) return;
    event.preventDefault();
    target.click();
  });
})();
