// Labelling task: type, pick from the catalog (names, plurals, aliases), collect several labels
// as chips, then send them all. Without JavaScript the field takes comma-separated words.
(function () {
  "use strict";
  const form = document.getElementById("label-form");
  if (!form || !window.fetch) return;
  const input = document.getElementById("label-input");
  const chips = document.getElementById("chips");
  const options = document.getElementById("label-options");
  const error = document.getElementById("label-error");
  const searchUrl = form.dataset.searchUrl;
  const MAX_LENGTH = 64;
  let matches = [];
  let active = -1;
  let timer = null;
  let request = 0;

  function chosen() {
    return Array.from(chips.querySelectorAll(".chip")).map(function (chip) { return chip.dataset.value; });
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  function addChip(text) {
    const value = text.trim().replace(/\s+/g, " ");
    if (!value) return;
    if (value.length > MAX_LENGTH) {
      showError("A label is at most " + MAX_LENGTH + " characters.");
      return;
    }
    if (chosen().some(function (v) { return v.toLowerCase() === value.toLowerCase(); })) {
      input.value = "";
      return;
    }
    const chip = document.createElement("li");
    chip.className = "chip";
    chip.dataset.value = value;
    chip.append(value);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("aria-label", "Remove " + value);
    remove.textContent = "×";
    chip.append(remove);
    chips.append(chip);
    input.value = "";
    showError("");
    closeOptions();
  }

  function closeOptions() {
    request += 1;  // a search still in flight must not reopen the list
    window.clearTimeout(timer);
    options.hidden = true;
    options.textContent = "";
    input.setAttribute("aria-expanded", "false");
    matches = [];
    active = -1;
  }

  function render() {
    options.textContent = "";
    matches.forEach(function (match, index) {
      const option = document.createElement("li");
      option.setAttribute("role", "option");
      option.id = "label-option-" + index;
      option.className = "autocomplete-option" + (index === active ? " active" : "");
      const name = document.createElement("strong");
      name.textContent = match.name;
      option.append(name);
      if (match.matched.toLowerCase() !== match.name) option.append(" (" + match.matched + ")");
      const hint = document.createElement("span");
      hint.className = "option-hint";
      hint.textContent = match.description;
      option.append(hint);
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        addChip(match.name);
        input.focus();
      });
      options.append(option);
    });
    options.hidden = matches.length === 0;
    input.setAttribute("aria-expanded", matches.length ? "true" : "false");
    input.setAttribute("aria-activedescendant", active >= 0 ? "label-option-" + active : "");
  }

  async function search(text) {
    const mine = ++request;
    const response = await fetch(searchUrl + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } });
    if (!response.ok || mine !== request) return;
    matches = await response.json();
    active = matches.length ? 0 : -1;
    render();
  }

  input.addEventListener("input", function () {
    const value = input.value;
    if (value.indexOf(",") !== -1) {
      value.split(",").slice(0, -1).forEach(addChip);
      input.value = value.slice(value.lastIndexOf(",") + 1);
    }
    window.clearTimeout(timer);
    if (!input.value.trim()) { closeOptions(); return; }
    timer = window.setTimeout(function () { search(input.value.trim()); }, 120);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" && matches.length) {
      active = (active + 1) % matches.length; render(); event.preventDefault();
    } else if (event.key === "ArrowUp" && matches.length) {
      active = (active - 1 + matches.length) % matches.length; render(); event.preventDefault();
    } else if (event.key === "Enter" || event.key === "Tab") {
      if (!input.value.trim()) return;  // Enter on an empty field submits the form
      event.preventDefault();
      addChip(active >= 0 && matches[active] ? matches[active].name : input.value);
    } else if (event.key === "Escape") {
      closeOptions();
    } else if (event.key === "Backspace" && !input.value && chips.lastElementChild) {
      chips.lastElementChild.remove();
    }
  });

  chips.addEventListener("click", function (event) {
    if (event.target.classList.contains("chip-remove")) event.target.closest(".chip").remove();
  });

  input.addEventListener("blur", function () { window.setTimeout(closeOptions, 150); });

  form.addEventListener("submit", function (event) {
    const skipping = event.submitter && event.submitter.name === "skip";
    if (skipping) return;
    const labels = chosen();
    if (input.value.trim()) labels.push(input.value.trim());
    if (!labels.length) {
      event.preventDefault();
      showError("Type at least one label, or skip this image.");
      input.focus();
      return;
    }
    input.value = labels.join(", ");
  });
})();
