// Keeps the home page's totals live over the site's websocket feed.
(function () {
  "use strict";
  const panel = document.getElementById("live-totals");
  if (!panel || !("WebSocket" in window)) return;
  const format = new Intl.NumberFormat();
  let delay = 1000;

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + panel.dataset.wsPath);
    socket.addEventListener("open", function () { delay = 1000; panel.dataset.live = "on"; });
    socket.addEventListener("message", function (event) {
      const message = JSON.parse(event.data);
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
