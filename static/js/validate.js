// Validation task: one key per answer, answers sent in the background, the next task (and its
// image) fetched before it is needed. Without JavaScript the buttons post the form instead.
// A trainee's verdict on a gold item stays beside the photo it is about until they go on.
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
  const continueRow = document.getElementById("feedback-continue");
  const continueButton = document.getElementById("continue-button");
  const gridLink = document.getElementById("grid-link");
  const announcer = document.getElementById("question-announcer");
  const done = document.getElementById("done");
  const trainingNote = document.getElementById("training-note");
  let current = { id: idField.value };
  let upcoming = Promise.resolve(undefined);
  let busy = false;
  let holding = false;  // a verdict is on screen with its photo; the next question waits
  let passedTraining = false;

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
      announcer.textContent = "Nothing to validate right now.";
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
    gridLink.href = root.dataset.gridUrl + "?label=" + encodeURIComponent(task.label.name);
    gridLink.textContent = "Grid mode for “" + task.label.name + "”";
    announcer.textContent = "Next question: " + task.question;
  }

  async function showNext() {
    let next = await upcoming;
    if (next === undefined) next = await fetchNext(current.id);
    show(next);
    if (next) preload();
  }

  function hold() {
    holding = true;
    form.hidden = true;
    continueRow.hidden = false;
    continueButton.focus();
  }

  async function release() {
    if (!holding || busy) return;
    busy = true;
    try {
      await showNext();
      holding = false;
      continueRow.hidden = true;
      form.hidden = !done.hidden;
      if (passedTraining) say("Training passed: your answers now count. Thank you!", "good");
      else say("");
    } catch (error) {
      say("The connection failed; check your network and try again.", "error");
    } finally {
      busy = false;
    }
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
        let verdict = fb.correct ? "Right — the answer was “" + fb.expected + "”." : "Not quite — the right answer was “" + fb.expected + "”.";
        if (fb.training_passed) {
          passedTraining = true;
          verdict += " Training passed: your answers now count. Thank you!";
          if (trainingNote) trainingNote.hidden = true;
        }
        say(verdict, fb.correct ? "good" : "bad");
        hold();
        return;
      }
      say(ok ? "" : result.data.detail, ok ? "" : "error");
      await showNext();
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

  continueButton.addEventListener("click", release);

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.matches("input, textarea, select")) return;
    // Space and Enter on a focused button or link press that one, not the "not sure" shortcut.
    if ((event.key === " " || event.key === "Enter") && event.target.closest("button, a, summary")) return;
    if (holding) {
      if (event.key === " " || event.key === "Enter") {
        event.preventDefault();
        release();
      }
      return;
    }
    const keys = { y: "yes", Y: "yes", ArrowRight: "yes", n: "no", N: "no", ArrowLeft: "no", " ": "unsure", ArrowDown: "unsure", s: "skip", S: "skip" };
    const value = keys[event.key];
    if (!value) return;
    event.preventDefault();
    answer(value);
  });
  preload();
})();
