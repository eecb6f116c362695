// Archive export page: progress live over the site's websocket; where that cannot connect
// (a proxy without websockets), the job is polled instead. Ends with the download link.
(function () {
  "use strict";
  const panel = document.getElementById("export-job");
  if (!panel) return;
  const bar = document.getElementById("export-progress");
  const status = document.getElementById("export-status");
  const download = document.getElementById("export-job-download");
  let finished = panel.dataset.state === "done" || panel.dataset.state === "failed";
  let polling = null;

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    return seconds < 60 ? ", about " + seconds + " s left" : ", about " + Math.round(seconds / 60) + " min left";
  }

  function show(job) {
    bar.value = job.percent;
    bar.textContent = job.percent + " %";
    if (job.state === "done") {
      status.textContent = "Ready: " + job.rows_total + " image" + (job.rows_total === 1 ? "" : "s") + ".";
      download.href = job.download_url;
      download.hidden = false;
    } else if (job.state === "failed") {
      status.textContent = job.error || "The archive could not be built.";
    } else if (job.state === "running") {
      status.textContent = job.rows_done + " of " + job.rows_total + " images written (" + job.percent + " %" + eta(job.eta_seconds) + ").";
    } else {
      status.textContent = "Waiting for a worker to start building it.";
    }
    panel.dataset.state = job.state;
    finished = job.state === "done" || job.state === "failed";
    if (finished && polling) window.clearInterval(polling);
  }

  async function poll() {
    const response = await fetch(panel.dataset.apiUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.ok) show(await response.json());
  }

  function startPolling() {
    if (!polling && !finished) { polling = window.setInterval(poll, 1500); poll(); }
  }

  if (finished) return;
  if (!("WebSocket" in window)) { startPolling(); return; }
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + window.location.host + panel.dataset.wsPath);
  socket.addEventListener("message", function (event) {
    const message = JSON.parse(event.data);
    if (message.type === "progress") show(message.job);
    if (finished) socket.close();
  });
  socket.addEventListener("error", startPolling);
  socket.addEventListener("close", function () { if (!finished) startPolling(); });
})();
