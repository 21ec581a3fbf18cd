// The contest builder: refresh the preview and the problems next to each field as the organiser types.
// Without this script the "Check and preview" button does the same through the server.
(function () {
  "use strict";
  var form = document.getElementById("rubric-builder");
  if (!form) return;
  var preview = document.getElementById("rubric-preview");
  var problems = document.getElementById("builder-problems");
  var list = problems.querySelector("[data-problem-list]");
  var timer = null;
  var sequence = 0;

  function showErrors(errors) {
    form.querySelectorAll("[data-error-for]").forEach(function (box) {
      var messages = errors[box.getAttribute("data-error-for")] || [];
      box.textContent = "";
      messages.forEach(function (message) {
        var line = document.createElement("div");
        line.textContent = message;
        box.appendChild(line);
      });
      var input = form.elements.namedItem(box.getAttribute("data-error-for"));
      if (input && input.classList) input.classList.toggle("is-invalid", messages.length > 0);
    });
  }

  function showProblems(lines) {
    list.textContent = "";
    lines.forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    problems.classList.toggle("d-none", lines.length === 0);
  }

  function refresh() {
    var mine = ++sequence;
    var body = new URLSearchParams(new FormData(form));
    body.delete("op");
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
    })
      .then(function (response) { return response.json(); })
      .then(function (reply) {
        if (mine !== sequence) return; // an older answer arriving late
        showErrors(reply.errors || {});
        showProblems(reply.problems || []);
        if (reply.preview) preview.innerHTML = reply.preview;
      })
      .catch(function () { /* offline: the Check button still works */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
