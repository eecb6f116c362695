// Keeps the home page's totals and its activity feed live over the site's websocket feed.
(function () {
  "use strict";
  const panel = document.getElementById("live-totals");
  if (!panel || !("WebSocket" in window)) return;
  const format = new Intl.NumberFormat();
  let delay = 1000;
  const feed = document.getElementById("activity-feed");
  const FEED_LINES = 8;

  // What contributors are doing, newest first (the server never says who).
  function showActivity(text) {
    if (!feed) return;
    const empty = feed.querySelector(".activity-empty");
    if (empty) empty.remove();
    const line = document.createElement("li");
    line.textContent = text;
    feed.prepend(line);
    while (feed.children.length > FEED_LINES) feed.lastElementChild.remove();
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + panel.dataset.wsPath);
    socket.addEventListener("open", function () { delay = 1000; panel.dataset.live = "on"; });
    socket.addEventListener("message", function (event) {
      const message = JSON.parse(event.data);
      if (message.type === "activity") return showActivity(message.text);
      if (message.type !== "totals") return;
      for (const [name, value] of Object.entries(message.totals)) {
        const cell = panel.querySelector('[data-total="' + name + '"]');
        if (cell) cell.textContent = format.format(value);
      }
    });
    socket.addEventListener("close", function () {
      panel.dataset.live = "off";
      // Back off so a restarting server is not hammered by every open tab.
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  connect();
})();
