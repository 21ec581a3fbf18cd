// Upload with a progress bar: the file of a form.upload-form is sent with XMLHttpRequest so that the browser reports
// the bytes sent; the server answers JSON (ok, message, thumbnail) when asked with X-Requested-With.
// Without JavaScript the same form posts normally and the page shows the outcome.
(function () {
  "use strict";
  function setup(form) {
    var progress = form.querySelector(".progress");
    var bar = form.querySelector(".progress-bar");
    var status = form.querySelector(".upload-status");
    var preview = form.querySelector(".upload-preview");
    var button = form.querySelector("[type=submit]");

    function show(percent, text, failed) {
      progress.classList.remove("d-none");
      bar.style.width = percent + "%";
      bar.textContent = percent + "%";
      progress.setAttribute("aria-valuenow", String(percent));
      bar.classList.toggle("bg-danger", Boolean(failed));
      bar.classList.toggle("bg-success", percent === 100 && !failed);
      status.textContent = text;
      status.classList.toggle("text-danger", Boolean(failed));
    }

    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      if (!input.files.length) { return; } // let the server say that a file is needed
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.floor((e.loaded / e.total) * 100);
        show(percent, percent < 100 ? form.dataset.sending.replace("{percent}", percent + "%") : form.dataset.checking);
      });
      request.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(request.responseText); } catch (error) { answer = null; }
        button.disabled = false;
        if (answer && answer.ok) {
          show(100, answer.message, false);
          preview.textContent = "";
          var source = answer.thumbnail || answer.image;
          if (source) {
            var image = document.createElement("img");
            image.src = source;
            image.className = "img-thumbnail upload-thumbnail";
            image.width = 240;
            image.alt = answer.message;
            preview.appendChild(image);
          }
          var files = document.getElementById("entry-files");
          if (files && answer.files_html) { files.outerHTML = answer.files_html; } // the list, as stored now
          input.value = "";
          return;
        }
        var message = answer ? answer.message : (request.status === 413 ? form.dataset.tooLarge : form.dataset.failed);
        show(100, message, true);
      });
      request.addEventListener("error", function () {
        button.disabled = false;
        show(100, form.dataset.failed, true);
      });
      button.disabled = true;
      show(0, form.dataset.sending.replace("{percent}", "0%"), false);
      // The file itself is the body: the server streams it to storage without parsing a multipart form.
      var file = input.files[0];
      request.setRequestHeader("Content-Type", "application/octet-stream");
      request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
      request.setRequestHeader("X-CSRFToken", form.querySelector("input[name=csrf_token]").value);
      request.send(file);
    });
  }
  document.querySelectorAll("form.upload-form").forEach(setup);
})();
