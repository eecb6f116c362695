// "Report" links open the report dialog (every page has one) and send the report through the
// API without leaving the task. A link for an outline names it (data-report-annotation). Without JavaScript, or without <dialog>, a link opens the report
// page instead. A link names its image (data-report-image) or the element showing it
// (data-report-source: an <img> or SVG <image> a task page swaps), so it always reports the
// picture on screen.
(function () {
  "use strict";
  const dialog = document.getElementById("report-dialog");
  if (!dialog || typeof dialog.showModal !== "function") return;
  const form = dialog.querySelector("form");
  const status = document.getElementById("report-status");
  const submit = form.querySelector('button[type="submit"]');
  const title = document.getElementById("report-dialog-title");
  const FILE_URL = /\/images\/([0-9a-f-]{36})\/file\//;
  let opener = null;

  function imageOf(link) {
    const source = link.dataset.reportSource && document.getElementById(link.dataset.reportSource);
    if (source) {
      const url = source.currentSrc || source.getAttribute("src") || source.getAttribute("href") || "";
      const match = FILE_URL.exec(url);
      if (match) return match[1];
    }
    return link.dataset.reportImage || "";
  }

  document.addEventListener("click", function (event) {
    const link = event.target.closest("a.report-link");
    if (!link) return;
    const annotation = link.dataset.reportAnnotation || "";
    const image = annotation ? "" : imageOf(link);
    if (!image && !annotation) return;  // nothing on screen yet: the page explains
    event.preventDefault();
    opener = link;
    form.reset();
    form.elements.image.value = image;
    form.elements.annotation.value = annotation;
    title.textContent = annotation ? "Report this outline" : "Report this image";
    status.textContent = "";
    submit.disabled = false;
    dialog.showModal();
  });

  dialog.querySelector("[data-report-close]").addEventListener("click", function () {
    dialog.close();
  });
  dialog.addEventListener("close", function () {
    if (opener) opener.focus();
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    submit.disabled = true;
    status.textContent = "Sending…";
    const body = {
      image: form.elements.image.value || null,
      annotation: form.elements.annotation.value ? Number(form.elements.annotation.value) : null,
      reason: (form.querySelector('input[name="reason"]:checked') || {}).value || "",
      text: form.elements.text.value,
    };
    let message;
    try {
      const response = await fetch(form.dataset.apiUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
        },
        body: JSON.stringify(body),
      });
      const data = await response.json().catch(function () { return {}; });
      if (response.ok) {
        status.textContent = data.detail || "Thank you.";
        // A link for one fixed image says it was reported; a task page's link moves on with the task.
        if (opener && !opener.dataset.reportSource) opener.textContent = "⚑ Reported";
        window.setTimeout(function () { dialog.close(); }, 1500);
        return;
      }
      message = data.detail || Object.values(data).flat().join(" ") || "The report could not be sent.";
    } catch (error) {
      message = "The report could not be sent; check your connection and try again.";
    }
    status.textContent = message;
    submit.disabled = false;
  });
})();
