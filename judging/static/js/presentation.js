// Ceremony presentation (templates/ceremonies/present.html): shows the slides of #deck one at a time.
//   next:     ArrowRight, ArrowDown, PageDown, Space, Enter, a click on the right half of the screen
//   back:     ArrowLeft, ArrowUp, PageUp, Backspace, a click on the left half
//   Home/End: first/last slide;  F: full screen on/off;  B or ".": black screen on/off
// Presentation clickers send PageDown/PageUp (some send "." or "b" for black). The slide number is kept
// in the URL hash (#3), so a reload stays on the same slide. No network requests; without this script
// the slides read as one long page. On the run sheet, a button with data-print prints the page.
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  var deck = document.getElementById("deck");
  if (!deck) { return; }
  var slides = Array.prototype.slice.call(deck.querySelectorAll(".slide"));
  if (!slides.length) { return; }
  var counter = document.getElementById("deck-counter");
  var blackout = document.getElementById("deck-blackout");
  var root = document.documentElement;
  var current = -1;

  var NEXT = ["ArrowRight", "ArrowDown", "PageDown", " ", "Spacebar", "Enter"];
  var BACK = ["ArrowLeft", "ArrowUp", "PageUp", "Backspace"];

  function clamp(index) {
    return Math.max(0, Math.min(slides.length - 1, index));
  }

  function fromHash() {
    var number = parseInt(window.location.hash.replace(/[^0-9]/g, ""), 10);
    return isNaN(number) ? 0 : clamp(number - 1);
  }

  function show(index) {
    index = clamp(index);
    if (index === current) { return; }
    if (current >= 0) { slides[current].classList.remove("current"); }
    current = index;
    slides[current].classList.add("current");
    var hash = "#" + (current + 1);
    if (window.location.hash !== hash) {
      // replaceState: the slide is in the URL for a reload, without one history entry per slide
      window.history.replaceState(null, "", hash);
    }
    if (counter) { counter.textContent = (current + 1) + " / " + slides.length; }
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (root.requestFullscreen) {
      root.requestFullscreen().catch(function () { /* refused (e.g. not from a user gesture): stay windowed */ });
    }
  }

  function toggleBlackout() {
    if (blackout) { blackout.hidden = !blackout.hidden; }
  }

  root.classList.add("deck-ready");
  show(fromHash());

  window.addEventListener("hashchange", function () { show(fromHash()); });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) { return; }  // leave the browser's shortcuts alone
    var key = event.key;
    if ((key === "Enter" || key === " ") && event.target.closest && event.target.closest("a, button")) { return; }
    if (NEXT.indexOf(key) >= 0) {
      show(current + 1);
    } else if (BACK.indexOf(key) >= 0) {
      show(current - 1);
    } else if (key === "Home") {
      show(0);
    } else if (key === "End") {
      show(slides.length - 1);
    } else if (key === "f" || key === "F") {
      toggleFullscreen();
    } else if (key === "b" || key === "B" || key === ".") {
      toggleBlackout();
    } else {
      return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.button !== 0 || event.target.closest("a, button")) { return; }
    if (blackout && !blackout.hidden) { toggleBlackout(); return; }
    show(event.clientX >= window.innerWidth / 2 ? current + 1 : current - 1);
  });

  // Hide the pointer on the hall's screen after a few seconds without movement.
  var idle = 0;
  document.addEventListener("mousemove", function () {
    root.classList.remove("deck-idle");
    window.clearTimeout(idle);
    idle = window.setTimeout(function () { root.classList.add("deck-idle"); }, 2500);
  });
})();
