// The moderation dashboard, live: counts, new reports and alerts arrive over /ws/moderation/
// (staff only) without a reload.
(function () {
  "use strict";
  const root = document.querySelector(".moderation-dashboard");
  if (!root || !("WebSocket" in window)) return;
  const status = document.getElementById("dashboard-live");
  const LINES = 10;
  let delay = 1000;

  function showCounts(counts) {
    for (const [name, value] of Object.entries(counts || {})) {
      const cell = root.querySelector('[data-count="' + name + '"]');
      if (cell) cell.textContent = value;
    }
  }

  function showLine(listId, line) {
    const list = document.getElementById(listId);
    if (!list || !line) return;
    const empty = list.querySelector(".dashboard-empty");
    if (empty) empty.remove();
    const old = list.querySelector('[data-id="' + line.id + '"]');
    if (old) old.remove();
    const item = document.createElement("li");
    item.dataset.id = line.id;
    item.className = "dashboard-new";
    const link = document.createElement("a");
    link.href = line.url;
    link.textContent = line.text;
    item.append(link);
    list.prepend(item);
    while (list.children.length > LINES) list.lastElementChild.remove();
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    socket.addEventListener("open", function () {
      delay = 1000;
      root.dataset.live = "on";
      status.textContent = "Live: new reports and alerts appear here as they come in.";
    });
    socket.addEventListener("message", function (event) {
      const message = JSON.parse(event.data);
      showCounts(message.counts);
      if (message.type === "state") return;
      showLine("dashboard-report-list", message.report);
      showLine("dashboard-alert-list", message.alert);
    });
    socket.addEventListener("close", function () {
      root.dataset.live = "off";
      status.textContent = "Reconnecting…";
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
})();
