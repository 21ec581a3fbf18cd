// The entrant's entry page offers the submit form only when the server would accept the submission. While it
// waits for the work, an upload made in place (upload.js replaces #entry-files) reloads the page, so that the
// server decides again and the form appears when the entry can now be submitted.
(function () {
  "use strict";
  var waiting = document.querySelector("[data-waits-for-work]");
  if (!waiting || !window.MutationObserver) { return; }
  new MutationObserver(function () {
    var files = document.getElementById("entry-files");
    if (files && files.querySelector("[data-file]")) { window.location.reload(); }
  }).observe(document.querySelector("main") || document.body, {childList: true, subtree: true});
})();
