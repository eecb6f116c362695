// Validation task: one key per answer, answers sent in the background, the next task (and its
// image) fetched before it is needed. Without JavaScript the buttons post the form instead.
(function () {
  "use strict";
  const root = document.getElementById("validate-task");
  const form = document.getElementById("vote-form");
  if (!root || !form || !window.fetch) return;
  const csrfToken = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  const idField = document.getElementById("image-label-id");
  const image = document.getElementById("task-image");
  const question = document.getElementById("question");
  const description = document.getElementById("label-description");
  const feedback = document.getElementById("feedback");
  const done = document.getElementById("done");
  const trainingNote = document.getElementById("training-note");
  let current = { id: idField.value };
  let upcoming = Promise.resolve(undefined);
  let busy = false;

  function headers() {
    return { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken };
  }

  async function fetchNext(excludeId) {
    const separator = root.dataset.nextUrl.indexOf("?") === -1 ? "?" : "&";
    const url = root.dataset.nextUrl + separator + "exclude=" + encodeURIComponent(excludeId);
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 204) return null;
    if (!response.ok) throw new Error("HTTP " + response.status);
    const task = await response.json();
    new Image().src = task.image.preview_url;  // warm the browser cache for an instant swap
    return task;
  }

  function preload() {
    upcoming = fetchNext(current.id).catch(function () { return undefined; });
  }

  function show(task) {
    if (!task) {
      form.hidden = true;
      image.hidden = true;
      question.hidden = true;
      description.hidden = true;
      done.hidden = false;
      return;
    }
    current = { id: task.image_label };
    idField.value = task.image_label;
    image.src = task.image.preview_url;
    image.width = task.image.width;
    image.height = task.image.height;
    image.alt = task.question;
    question.textContent = task.question;
    description.textContent = task.label.description;
  }

  function say(text, kind) {
    feedback.textContent = text;
    feedback.className = "feedback" + (kind ? " feedback-" + kind : "");
  }

  async function send(url, body) {
    const response = await fetch(url, { method: "POST", headers: headers(), credentials: "same-origin", body: JSON.stringify(body) });
    const data = await response.json().catch(function () { return {}; });
    return { response: response, data: data };
  }

  async function answer(value) {
    if (busy || form.hidden) return;
    busy = true;
    form.classList.add("sending");
    try {
      const result = value === "skip"
        ? await send("/api/validations/" + current.id + "/skip/", null)
        : await send(root.dataset.voteUrl, { image_label: Number(current.id), answer: value });
      const ok = result.response.status === 201 || result.response.status === 204;
      if (!ok && result.response.status !== 409) {
        say(result.data.detail || "Could not save the answer (HTTP " + result.response.status + ").", "error");
        return;
      }
      const fb = result.data.feedback;
      if (fb) {
        say(fb.correct ? "Right — the answer was “" + fb.expected + "”." : "Not quite — the right answer was “" + fb.expected + "”.", fb.correct ? "good" : "bad");
        if (fb.training_passed) {
          say("Training passed: your answers now count. Thank you!", "good");
          if (trainingNote) trainingNote.hidden = true;
        }
      } else if (!ok) {
        say(result.data.detail, "error");
      } else {
        say("");
      }
      let next = await upcoming;
      if (next === undefined) next = await fetchNext(current.id);
      show(next);
      if (next) preload();
    } catch (error) {
      say("The connection failed; check your network and try again.", "error");
    } finally {
      busy = false;
      form.classList.remove("sending");
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const button = event.submitter;
    answer(button && button.name === "skip" ? "skip" : (button ? button.value : "unsure"));
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.matches("input, textarea, select")) return;
    const keys = { y: "yes", Y: "yes", ArrowRight: "yes", n: "no", N: "no", ArrowLeft: "no", " ": "unsure", ArrowDown: "unsure", s: "skip", S: "skip" };
    const value = keys[event.key];
    if (!value) return;
    event.preventDefault();
    answer(value);
  });
  preload();
})();
