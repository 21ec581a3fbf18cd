// Countdown to a deadline: <span class="countdown" data-deadline="ISO-8601" data-label-days="{d} d {h} h {m} min left"
// data-label-over="..."> shows the time left, updated every 30 seconds. The deadline itself is printed by the
// server in Asia/Shanghai time; this only adds the remaining time, so the page reads fine without JavaScript.
(function () {
  "use strict";
  function render(element) {
    var left = Date.parse(element.dataset.deadline) - Date.now();
    if (isNaN(left)) { return; }
    if (left <= 0) {
      element.textContent = element.dataset.labelOver;
      element.classList.add("text-danger");
      return;
    }
    var minutes = Math.floor(left / 60000);
    element.textContent = element.dataset.labelDays
      .replace("{d}", String(Math.floor(minutes / 1440)))
      .replace("{h}", String(Math.floor((minutes % 1440) / 60)))
      .replace("{m}", String(minutes % 60));
  }
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(render);
  }
  tick();
  window.setInterval(tick, 30000);
})();
