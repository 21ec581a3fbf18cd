// The judge's score sheet: a live weighted total and list of what is still to fill in, Enter moving to the
// next field instead of sending a half-filled sheet, focus on the first refused value, and a warning
// before leaving with unsaved changes. The server checks every value whatever this script does.
(function () {
  "use strict";
  var form = document.getElementById("score-sheet");
  if (!form) { return; }
  var inputs = form.querySelectorAll("input[data-weight]");
  var totalOut = form.querySelector("[data-total]");
  var gapsOut = document.querySelector("[data-sheet-gaps]");
  var dirty = false;

  function showTotal() {
    var sum = 0, complete = true;
    inputs.forEach(function (input) {
      var value = parseFloat(input.value);
      if (isNaN(value)) { complete = false; return; }
      sum += value * parseFloat(input.dataset.weight);
    });
    totalOut.textContent = complete ? (Math.round(sum * 100) / 100).toString() : "—";
  }

  function labelOf(input) {
    var label = form.querySelector("label[for='" + input.id + "']");
    return label ? label.textContent.replace(/[（(][^）)]*[）)]\s*$/, "").trim() : input.name;
  }

  function showGaps() {
    if (!gapsOut) { return; }
    var left = [];
    inputs.forEach(function (input) { if (input.value.trim() === "") { left.push(labelOf(input)); } });
    form.querySelectorAll("fieldset[data-check]").forEach(function (fieldset) {
      if (!fieldset.querySelector("input:checked")) {
        left.push(fieldset.querySelector("legend").textContent.trim());
      }
    });
    gapsOut.textContent = left.length
      ? gapsOut.dataset.labelLeft.replace("{items}", left.join(gapsOut.dataset.separator || ", "))
      : gapsOut.dataset.labelComplete;
  }

  // Enter in a one-line field moves to the next control, as Tab does; only a button sends the sheet.
  form.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || target.tagName !== "INPUT" || event.isComposing) { return; }
    if (/^(submit|button|reset|image)$/.test(target.type)) { return; }  // Enter on a button presses it
    event.preventDefault();
    var controls = Array.prototype.filter.call(
      form.querySelectorAll("input:not([type=hidden]), textarea, button"),
      function (control) { return !control.disabled && control.tabIndex >= 0 && control.offsetParent !== null; }
    );
    var next = controls[controls.indexOf(target) + 1];
    if (target.type === "radio") {  // skip the other options of the same check
      while (next && next.type === "radio" && next.name === target.name) { next = controls[controls.indexOf(next) + 1]; }
    }
    if (next) { next.focus(); }
  });

  form.addEventListener("input", function () { dirty = true; showTotal(); showGaps(); });
  form.addEventListener("change", function () { showGaps(); });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  showTotal();

  // After a refused save: the first invalid field has the focus (autofocus); a summary link focuses its field.
  // Brought into view as well: the page's other scripts may move the layout after the browser scrolled to it.
  var first = form.querySelector("[autofocus]");
  if (first) {
    if (document.activeElement !== first) { first.focus(); }
    first.scrollIntoView({block: "center"});
  }
  document.querySelectorAll("[data-problem-link]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      field.focus();
      field.scrollIntoView({block: "center"});
    });
  });
})();
