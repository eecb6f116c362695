// Drag-and-drop donations: each file is sent on its own to the API, with its own progress and
// result. Without JavaScript the same form posts to the page and gets the same results.
(function () {
  "use strict";
  const form = document.getElementById("donate-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  const input = form.querySelector('input[type="file"]');
  const cc0 = form.querySelector('input[name="cc0"]');
  const labelsField = form.querySelector('input[name="labels"]');
  const dropzone = document.getElementById("dropzone");
  const list = document.getElementById("upload-list");
  const clientError = document.getElementById("client-error");
  const submit = document.getElementById("donate-submit");
  const csrfToken = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const apiUrl = form.dataset.apiUrl;
  const PARALLEL_UPLOADS = 2;
  let queue = [];

  function showError(text) {
    clientError.textContent = text;
    clientError.hidden = !text;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function addFiles(files) {
    for (const file of files) {
      const item = element("li", "upload-item upload-queued");
      item.append(element("span", "upload-name", file.name));
      const progress = element("progress");
      progress.max = 100;
      progress.value = 0;
      item.append(progress, element("span", "upload-status", "Ready to send"));
      list.append(item);
      queue.push({ file: file, item: item, progress: progress });
    }
    showError("");
  }

  function finish(entry, ok, text, link) {
    const item = entry.item;
    item.classList.remove("upload-queued", "upload-sending");
    item.classList.add(ok ? "upload-ok" : "upload-failed");
    entry.progress.remove();
    item.querySelector(".upload-status").textContent = text;
    if (link) {
      const anchor = element("a", "", link.text);
      anchor.href = link.href;
      item.append(anchor);
    }
  }

  function upload(entry) {
    return new Promise(function (resolve) {
      const data = new FormData();
      data.append("file", entry.file, entry.file.name);
      data.append("cc0", "true");
      labelsField.value.split(",").map(function (text) { return text.trim(); })
        .filter(Boolean).forEach(function (text) { data.append("labels", text); });
      const request = new XMLHttpRequest();
      request.open("POST", apiUrl);
      request.setRequestHeader("X-CSRFToken", csrfToken);
      request.setRequestHeader("Accept", "application/json");
      entry.item.classList.add("upload-sending");
      entry.item.querySelector(".upload-status").textContent = "Sending…";
      request.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) entry.progress.value = Math.round((event.loaded / event.total) * 100);
      });
      request.addEventListener("load", function () {
        let body = {};
        try { body = JSON.parse(request.responseText); } catch (error) { body = {}; }
        if (request.status === 201) {
          finish(entry, true, "Received — pending review.", { href: body.url, text: "View your donation" });
          const labelLink = element("a", "", "Add labels");
          labelLink.href = "/label/?image=" + encodeURIComponent(body.id);
          entry.item.append(labelLink);
          for (const note of body.notes || []) entry.item.append(element("span", "upload-note", note));
        } else if (request.status === 409 && body.url) {
          finish(entry, false, body.detail, { href: body.url, text: "See the image" });
        } else if (request.status === 429) {
          finish(entry, false, body.detail || "Too many uploads right now; please wait a little and try again.");
        } else {
          finish(entry, false, body.detail || "The upload failed (HTTP " + request.status + ").");
        }
        resolve();
      });
      request.addEventListener("error", function () {
        finish(entry, false, "The connection failed; check your network and try again.");
        resolve();
      });
      request.send(data);
    });
  }

  async function sendAll() {
    const pending = queue;
    queue = [];
    submit.disabled = true;
    const workers = [];
    for (let i = 0; i < PARALLEL_UPLOADS; i += 1) {
      workers.push((async function () {
        while (pending.length) await upload(pending.shift());
      })());
    }
    await Promise.all(workers);
    submit.disabled = false;
    input.value = "";
  }

  input.addEventListener("change", function () {
    addFiles(input.files);
  });
  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("dragover");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.remove("dragover");
    });
  });
  dropzone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!queue.length) {
      showError("Choose at least one photo to donate.");
      return;
    }
    if (!cc0.checked) {
      showError("Please confirm the CC0 public-domain dedication to donate photos.");
      cc0.focus();
      return;
    }
    showError("");
    sendAll();
  });
})();
