// Image page: show or hide each label's outlines.
(function () {
  "use strict";
  document.querySelectorAll(".annotation-toggle").forEach(function (toggle) {
    toggle.addEventListener("change", function () {
      const group = document.querySelector('.annotation-group[data-annotation="' + toggle.dataset.annotation + '"]');
      if (group) group.style.display = toggle.checked ? "" : "none";
    });
  });
})();
