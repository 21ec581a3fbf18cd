// The entrant's entry page offers the submit form only when the server would accept the submission. When only
// the work is missing, the form waits hidden; once an upload made in place is accepted (upload.js replaces
// #entry-files with the stored list), it is shown and the sentence saying why is taken away. The server
// still checks everything when the form is sent.
(function () {
  "use strict";
  var waiting = document.querySelector("[data-waits-for-work]");
  var form = document.querySelector("form[data-submit-form][hidden]");
  if (!waiting || !form || !window.MutationObserver) { return; }
  var observer = new MutationObserver(function () {
    var files = document.getElementById("entry-files");
    if (!files || !files.querySelector("[data-file]")) { return; }
    form.hidden = false;
    waiting.remove();
    observer.disconnect();
  });
  observer.observe(document.querySelector("main") || document.body, {childList: true, subtree: true});
})();
