// Export page: a live count (and samples) while the query is written, label suggestions for
// the term being typed, and download links that follow the form. Without JavaScript the
// "Show what it matches" button does the same on the server.
(function () {
  "use strict";
  const form = document.getElementById("export-form");
  if (!form || !window.fetch) return;
  const input = document.getElementById("export-query");
  const options = document.getElementById("export-options");
  const preview = document.getElementById("export-preview");
  const streamFormats = ["json", "jsonl", "csv", "coco", "parquet"];
  let countTimer = null;
  let searchTimer = null;
  let countRequest = 0;
  let searchRequest = 0;
  let matches = [];
  let active = -1;

  function parameters() {
    const params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) { if (value !== "") params.append(name, value); });
    return params;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function suffix(count) { return count === 1 ? "" : "s"; }

  function showCount(body) {
    preview.textContent = "";
    const line = element("p");
    line.id = "export-count";
    const images = element("strong", "", String(body.images));
    images.dataset.count = "images";
    const labels = element("strong", "", String(body.image_labels));
    labels.dataset.count = "image_labels";
    line.append(images, " image" + suffix(body.images) + " and ", labels, " label" + suffix(body.image_labels) + " match.");
    preview.append(line);
    if (body.samples.length) {
      const grid = element("ul", "sample-grid");
      grid.id = "export-samples";
      body.samples.forEach(function (sample, index) {
        const item = element("li");
        const image = element("img");
        image.src = sample.thumbnail;
        image.alt = "Matching image " + (index + 1);
        image.width = 96;
        image.height = 96;
        image.loading = "lazy";
        item.append(image);
        grid.append(item);
      });
      preview.append(grid);
    }
  }

  function showError(text) {
    preview.textContent = "";
    const box = element("div", "field-error query-error");
    box.id = "export-error";
    box.setAttribute("role", "alert");
    box.append(element("pre", "", text));
    preview.append(box);
  }

  function followForm(params) {
    window.history.replaceState(null, "", form.action + "?" + params.toString());
    const download = document.getElementById("export-download");
    const archive = document.getElementById("export-archive");
    const format = params.get("format") || "json";
    if (download) {
      download.hidden = streamFormats.indexOf(format) === -1;
      download.href = form.dataset.streamUrl + "?" + params.toString();
    }
    if (archive) {
      const archiveForm = archive.form;
      archiveForm.querySelectorAll("input[type=hidden]:not([name=csrfmiddlewaretoken])").forEach(function (old) { old.remove(); });
      params.forEach(function (value, name) {
        const field = element("input");
        field.type = "hidden";
        field.name = name;
        field.value = value;
        archiveForm.append(field);
      });
    }
  }

  async function count() {
    const mine = ++countRequest;
    const params = parameters();
    const response = await fetch(form.dataset.countUrl + "?" + params.toString(), { headers: { Accept: "application/json" } });
    const body = await response.json().catch(function () { return {}; });
    if (mine !== countRequest) return;
    if (!response.ok) { showError(body.detail || "The count failed (HTTP " + response.status + ")."); return; }
    showCount(body);
    followForm(params);
  }

  function scheduleCount() {
    window.clearTimeout(countTimer);
    countTimer = window.setTimeout(count, 300);
  }

  // --- suggestions for the label being typed ------------------------------------------
  function currentTerm() {
    const before = input.value.slice(0, input.selectionStart);
    const start = Math.max(before.lastIndexOf("&"), before.lastIndexOf("|"), before.lastIndexOf("~"), before.lastIndexOf("("), before.lastIndexOf("=")) + 1;
    const text = before.slice(start);
    return { start: start + (text.length - text.trimStart().length), text: text.trim() };
  }

  function closeOptions() {
    searchRequest += 1;
    options.hidden = true;
    options.textContent = "";
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-activedescendant", "");
    matches = [];
    active = -1;
  }

  function choose(name) {
    const term = currentTerm();
    const written = /^[A-Za-z ]+$/.test(name) ? name : "'" + name + "'";
    input.value = input.value.slice(0, term.start) + written + input.value.slice(input.selectionStart);
    const caret = term.start + written.length;
    input.setSelectionRange(caret, caret);
    closeOptions();
    scheduleCount();
  }

  function render() {
    options.textContent = "";
    matches.forEach(function (match, index) {
      const option = element("li", "autocomplete-option" + (index === active ? " active" : ""));
      option.id = "export-option-" + index;
      option.setAttribute("role", "option");
      option.append(element("strong", "", match.name));
      option.addEventListener("mousedown", function (event) { event.preventDefault(); choose(match.name); });
      options.append(option);
    });
    options.hidden = !matches.length;
    input.setAttribute("aria-expanded", matches.length ? "true" : "false");
    input.setAttribute("aria-activedescendant", active >= 0 ? "export-option-" + active : "");
  }

  async function search(text) {
    const mine = ++searchRequest;
    const response = await fetch(form.dataset.searchUrl + "?q=" + encodeURIComponent(text), { headers: { Accept: "application/json" } });
    if (!response.ok || mine !== searchRequest) return;
    matches = (await response.json()).slice(0, 8);
    active = matches.length ? 0 : -1;
    render();
  }

  input.addEventListener("input", function () {
    scheduleCount();
    window.clearTimeout(searchTimer);
    const term = currentTerm();
    if (!/^[A-Za-z][A-Za-z _]*$/.test(term.text) || term.text.indexOf(".") !== -1) { closeOptions(); return; }
    searchTimer = window.setTimeout(function () { search(term.text); }, 150);
  });
  input.addEventListener("keydown", function (event) {
    if (!matches.length) return;
    if (event.key === "ArrowDown") { active = (active + 1) % matches.length; render(); event.preventDefault(); }
    else if (event.key === "ArrowUp") { active = (active - 1 + matches.length) % matches.length; render(); event.preventDefault(); }
    else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) { event.preventDefault(); choose(matches[active].name); }
    else if (event.key === "Escape") { closeOptions(); }
  });
  input.addEventListener("blur", function () { window.setTimeout(closeOptions, 100); });
  form.querySelectorAll("select, input[type=number]").forEach(function (field) {
    field.addEventListener("change", scheduleCount);
  });
})();
