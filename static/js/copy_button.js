// A "Copy" button beside text that must be copied exactly (a new API key): the button copies the
// text of the element named in its data-copy. Without the Clipboard API it stays hidden and the
// text can still be selected by hand.
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.id + "-status");
    if (!source || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent.trim()).then(
        function () { if (status) status.textContent = "Copied."; },
        function () { if (status) status.textContent = "Could not copy; select the key and copy it by hand."; }
      );
    });
  });
})();
