// The public vote's proof of work (judging/vote_proof.py): fetch a signed challenge, find a nonce whose
// sha256("<challenge>:<nonce>") starts with `difficulty` zero bits, then post the vote with it.
// SHA-256 is written out here: crypto.subtle exists only on https pages and localhost, and is async.
(function () {
  "use strict";
  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  var W = new Uint32Array(64);

  function rotr(x, n) { return (x >>> n) | (x << (32 - n)); }

  // The first 32 bits of sha256 of an ASCII string (all the check needs: difficulty is at most 28 bits).
  function sha256First32(text) {
    var length = text.length;
    var blocks = ((length + 8) >> 6) + 1;
    var words = new Uint32Array(blocks * 16);
    for (var i = 0; i < length; i++) { words[i >> 2] |= text.charCodeAt(i) << (24 - (i % 4) * 8); }
    words[length >> 2] |= 0x80 << (24 - (length % 4) * 8);
    words[blocks * 16 - 1] = length * 8;
    var h0 = 0x6a09e667, h1 = 0xbb67ae85, h2 = 0x3c6ef372, h3 = 0xa54ff53a;
    var h4 = 0x510e527f, h5 = 0x9b05688c, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    for (var block = 0; block < blocks; block++) {
      for (var t = 0; t < 64; t++) {
        if (t < 16) { W[t] = words[block * 16 + t]; } else {
          var a15 = W[t - 15], a2 = W[t - 2];
          var s0 = rotr(a15, 7) ^ rotr(a15, 18) ^ (a15 >>> 3);
          var s1 = rotr(a2, 17) ^ rotr(a2, 19) ^ (a2 >>> 10);
          W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
        }
      }
      var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
      for (var r = 0; r < 64; r++) {
        var S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        var ch = (e & f) ^ (~e & g);
        var temp1 = (h + S1 + ch + K[r] + W[r]) | 0;
        var S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        var maj = (a & b) ^ (a & c) ^ (b & c);
        var temp2 = (S0 + maj) | 0;
        h = g; g = f; f = e; e = (d + temp1) | 0; d = c; c = b; b = a; a = (temp1 + temp2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
    }
    return h0 >>> 0;
  }

  function solve(token, difficulty, done) {
    var limit = difficulty === 0 ? 0 : Math.pow(2, 32 - difficulty);
    var nonce = 0;
    function chunk() {
      for (var i = 0; i < 20000; i++, nonce++) {
        if (difficulty === 0 || sha256First32(token + ":" + nonce) < limit) { done(String(nonce)); return; }
      }
      setTimeout(chunk, 0);  // let the page breathe between chunks
    }
    chunk();
  }

  var script = document.currentScript;
  var checking = script.getAttribute("data-checking");
  var failed = script.getAttribute("data-failed");
  var screenText = window.screen ? window.screen.width + "x" + window.screen.height : "";
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { zone = ""; }
  var next = null;  // the challenge the last vote's answer handed over: one request a vote

  function challengeFor(form) {
    if (next) { var given = next; next = null; return Promise.resolve(given); }
    return fetch(form.getAttribute("data-challenge"), { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); });
  }

  document.querySelectorAll("form.vote-form").forEach(function (form) {
    var button = form.querySelector("button[type=submit]");
    var status = form.querySelector(".vote-status");
    var count = document.querySelector('[data-vote-count="' + button.getAttribute("data-vote") + '"]');
    button.disabled = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      status.textContent = checking;
      challengeFor(form)
        .then(function (challenge) {
          return new Promise(function (resolve) { solve(challenge.token, challenge.difficulty, function (nonce) { resolve([challenge, nonce]); }); });
        })
        .then(function (solved) {
          var body = new FormData(form);
          body.set("token", solved[0].token);
          body.set("nonce", solved[1]);
          body.set("screen", screenText);
          body.set("time_zone", zone);
          return fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } });
        })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          status.textContent = answer.message;
          status.setAttribute("data-ok", answer.ok ? "1" : "0");
          if (count && answer.count !== undefined) { count.textContent = count.getAttribute("data-template").replace("__N__", answer.count); }
          if (answer.challenge) { next = answer.challenge; }
          button.disabled = false;
        })
        .catch(function () { status.textContent = failed; button.disabled = false; });
    });
  });
})();
