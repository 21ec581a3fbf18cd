// <time datetime="ISO" data-local-time data-zone="Asia/Shanghai" data-label="your time: {when}"> holds a moment
// printed by the server in the configured zone. When the browser's own zone differs, the reader's local time
// is added after it, so that both are shown; without JavaScript the configured zone's time stands alone.
(function () {
  "use strict";
  var own;
  try { own = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (error) { return; }
  var lang = document.documentElement.lang || undefined;
  document.querySelectorAll("time[data-local-time]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (isNaN(moment.getTime()) || !own || own === element.dataset.zone) { return; }
    // Laid out as the server prints its own: yyyy-MM-dd HH:mm (zone name in the page's language).
    var parts = {};
    new Intl.DateTimeFormat(lang, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZoneName: "long"
    }).formatToParts(moment).forEach(function (part) { parts[part.type] = part.value; });
    var shown = parts.year + "-" + parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute +
      " (" + parts.timeZoneName + ")";
    var extra = document.createElement("span");
    extra.className = "local-time text-muted";
    extra.dataset.ownZone = own;
    extra.textContent = " " + element.dataset.label.replace("{when}", shown);
    element.insertAdjacentElement("afterend", extra);
  });
})();
