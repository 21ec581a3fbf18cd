// Uploads that refuse early and resume. The file of a form.upload-form is first checked here against the
// contest's limits (size, type by name, a video's duration from its metadata) and a replaced work is confirmed;
// then it is declared to the server (which checks phase, quota and limits again) and sent in parts: straight to
// the object store through presigned URLs, or to the app's own part endpoint, one by one with a progress bar.
// A failed part is sent again; after a dropped connection or a reload (the upload is remembered in
// localStorage) the server is asked which parts it holds and the others are sent. Then the server verifies the
// whole file (sha256, type by content, duration, blind copy) and answers as before (ok, message, files_html);
// with a job queue the check runs in the background: the answer says "verifying" and the check's progress is
// polled until its outcome. A page opened while a file is being checked polls it too and reloads when done.
// Without JavaScript the same form posts the file normally and the page shows the outcome.
(function () {
  "use strict";
  var RETRY_LIMIT = 30;

  function wait(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function extensionOf(name) {
    var dot = name.lastIndexOf(".");
    return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
  }

  // The duration from the file's metadata (HTMLVideoElement); null when the browser cannot read it (the
  // server measures every video anyway).
  function videoDuration(file) {
    return new Promise(function (resolve) {
      var video = document.createElement("video");
      var url = URL.createObjectURL(file);
      var done = function (value) { URL.revokeObjectURL(url); resolve(value); };
      var timer = setTimeout(function () { done(null); }, 8000);
      video.preload = "metadata";
      video.addEventListener("loadedmetadata", function () {
        clearTimeout(timer);
        done(isFinite(video.duration) ? video.duration : null);
      });
      video.addEventListener("error", function () { clearTimeout(timer); done(null); });
      video.src = url;
    });
  }

  function request(method, url, body, headers, onProgress) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      Object.keys(headers || {}).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      if (onProgress) {
        xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) { onProgress(e.loaded); } });
      }
      xhr.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (error) { answer = null; }
        resolve({ status: xhr.status, answer: answer });
      });
      xhr.addEventListener("error", function () { resolve({ status: 0, answer: null }); });
      xhr.addEventListener("abort", function () { resolve({ status: 0, answer: null }); });
      xhr.send(body);
    });
  }

  function setup(form) {
    var progress = form.querySelector(".progress");
    var bar = form.querySelector(".progress-bar");
    var status = form.querySelector(".upload-status");
    var preview = form.querySelector(".upload-preview");
    var button = form.querySelector("[type=submit]");
    var input = form.querySelector("input[type=file]");
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var data = form.dataset;

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

    function refuse(text) {
      progress.classList.add("d-none");
      status.textContent = text;
      status.classList.add("text-danger");
    }

    // What the contest would refuse, said before a byte is sent; null when the file may go.
    function problemWith(file) {
      if (data.maxBytes && file.size > Number(data.maxBytes)) { return Promise.resolve(data.refuseSize); }
      var allowed = (data.extensions || "").split(",");
      var extension = extensionOf(file.name);
      if (allowed.indexOf(extension) < 0 && !(extension === "jpeg" && allowed.indexOf("jpg") >= 0)) {
        return Promise.resolve(data.refuseType);
      }
      if (!data.maxSeconds) { return Promise.resolve(null); }
      return videoDuration(file).then(function (seconds) {
        if (seconds !== null && seconds > Number(data.maxSeconds) + 0.5) {
          return data.refuseDuration.replace("{seconds}", seconds.toFixed(2));
        }
        return null;
      });
    }

    function isWork(file) {
      return !(data.media === "document" && ["jpg", "jpeg", "png"].indexOf(extensionOf(file.name)) >= 0);
    }

    function finished(answer, file) {
      button.disabled = false;
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
      if (isWork(file)) { data.hasWork = "1"; }
      input.value = "";
    }

    function failed(message) {
      button.disabled = false;
      show(100, message || data.failed, true);
    }

    // The upload of this file under way (remembered across reloads), or a new one.
    async function openUpload(file, memory) {
      var remembered = null;
      try { remembered = window.localStorage.getItem(memory); } catch (error) { remembered = null; }
      if (remembered) {
        var known = await request("GET", remembered, null, { "X-Requested-With": "XMLHttpRequest" });
        if (known.status === 200 && known.answer && known.answer.ok) { return known.answer; }
      }
      var begun = await request("POST", data.beginUrl, JSON.stringify({ name: file.name, size: file.size }), {
        "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Requested-With": "XMLHttpRequest"
      });
      if (begun.status !== 201 || !begun.answer) {
        throw new Error(begun.answer ? begun.answer.message : (begun.status === 413 ? data.tooLarge : data.failed));
      }
      try { window.localStorage.setItem(memory, begun.answer.status_url); } catch (error) { /* private mode */ }
      return begun.answer;
    }

    async function sendParts(file, state) {
      var received = state.received_bytes;
      var failures = 0;
      var percent = function (extra) { return Math.min(99, Math.floor(((received + extra) / file.size) * 100)); };
      var numbers = Object.keys(state.urls).map(Number).sort(function (a, b) { return a - b; });
      for (var i = 0; i < numbers.length; i += 1) {
        var number = numbers[i];
        var url = state.urls[String(number)];
        var start = (number - 1) * state.part_size;
        var part = file.slice(start, Math.min(file.size, start + state.part_size));
        var own = url.charAt(0) === "/"; // the app's endpoint: it needs the CSRF token; the store must not see it
        var headers = own ? { "X-CSRFToken": csrf, "Content-Type": "application/octet-stream" } : {};
        for (;;) {
          var sent = await request("PUT", url, part, headers, function (loaded) {
            var p = percent(loaded);
            show(p, (failures ? data.resuming : data.sending).replace("{percent}", p + "%"), false);
          });
          if (sent.status >= 200 && sent.status < 300) { received += part.size; failures = 0; break; }
          if (sent.status === 400 || sent.status === 404) { throw new Error(sent.answer ? sent.answer.message : data.failed); }
          failures += 1;
          if (failures > RETRY_LIMIT) { throw new Error(data.failed); }
          show(percent(0), data.resuming.replace("{percent}", percent(0) + "%"), false);
          await wait(Math.min(10000, 500 * failures));
          var fresh = await request("GET", state.status_url, null, { "X-Requested-With": "XMLHttpRequest" });
          if (fresh.status === 200 && fresh.answer) {
            if (fresh.answer.received.indexOf(number) >= 0) { received += part.size; break; } // it did arrive
            url = fresh.answer.urls[String(number)] || url; // a presigned URL may have been renewed
          }
        }
      }
    }

    async function upload(file) {
      var memory = "upload:" + data.entry + ":" + file.name + ":" + file.size + ":" + file.lastModified;
      button.disabled = true;
      show(0, data.sending.replace("{percent}", "0%"), false);
      try {
        var state = await openUpload(file, memory);
        for (var round = 0; round < 3; round += 1) {
          await sendParts(file, state);
          show(100, data.checking, false);
          var done = await request("POST", state.complete_url, JSON.stringify({}), {
            "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Requested-With": "XMLHttpRequest"
          });
          if (done.status === 409) { // parts missing after all: ask which, send them
            var again = await request("GET", state.status_url, null, { "X-Requested-With": "XMLHttpRequest" });
            if (again.status === 200 && again.answer) { state = again.answer; continue; }
          }
          try { window.localStorage.removeItem(memory); } catch (error) { /* private mode */ }
          var outcome = done.answer;
          while (outcome && outcome.ok && outcome.verifying) { // checked by a background job: follow it
            var files = document.getElementById("entry-files");
            if (files && outcome.files_html) { files.outerHTML = outcome.files_html; }
            show(outcome.percent, outcome.message + " " + outcome.percent + "%", false);
            await wait(1000);
            var polled = await request("GET", outcome.check_url, null, { "X-Requested-With": "XMLHttpRequest" });
            if (polled.status === 200 && polled.answer) { outcome = polled.answer; }
          }
          if (outcome && outcome.ok) { finished(outcome, file); } else { failed(outcome && outcome.message); }
          return;
        }
        failed(data.failed);
      } catch (error) {
        failed(error.message);
      }
    }

    form.addEventListener("submit", function (event) {
      if (!input.files.length) { return; } // let the server say that a file is needed
      event.preventDefault();
      var file = input.files[0];
      problemWith(file).then(function (problem) {
        if (problem) { refuse(problem); return; }
        if (data.hasWork && isWork(file) && !window.confirm(data.replace.replace("{name}", file.name))) { return; }
        upload(file);
      });
    });
  }
  document.querySelectorAll("form.upload-form").forEach(setup);

  // A file still being checked when the page was opened: the page is reloaded once its check is over.
  var checking = document.querySelector("#pending-files [data-check-url]");
  if (checking && !document.querySelector("form.upload-form .progress:not(.d-none)")) {
    (async function follow() {
      for (;;) {
        await wait(2000);
        var polled = await request("GET", checking.dataset.checkUrl, null, { "X-Requested-With": "XMLHttpRequest" });
        if (polled.status !== 200 || !polled.answer) { continue; }
        if (!polled.answer.verifying) { window.location.reload(); return; }
        var bar = checking.querySelector(".progress-bar");
        if (bar) { bar.style.width = polled.answer.percent + "%"; bar.textContent = polled.answer.percent + "%"; }
      }
    })();
  }
})();
