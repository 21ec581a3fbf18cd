// The judge's score sheet: a live weighted total, and a warning before leaving with unsaved changes.
(function () {
  "use strict";
  var form = document.getElementById("score-sheet");
  if (!form) { return; }
  var inputs = form.querySelectorAll("input[data-weight]");
  var totalOut = form.querySelector("[data-total]");
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

  form.addEventListener("input", function () { dirty = true; showTotal(); });
  form.addEventListener("submit", function () { dirty = false; });
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  showTotal();
})();
