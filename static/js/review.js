// Annotation review: G good, B bad, Space not sure — each key presses its button.
(function () {
  "use strict";
  const form = document.getElementById("review-form");
  if (!form) return;
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    const key = event.key.toLowerCase();
    const button = form.querySelector('button[data-key="' + (key === " " ? " " : key) + '"]');
    if (!button) return;
    event.preventDefault();
    button.click();
  });
})();
