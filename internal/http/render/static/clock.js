// A live clock beside the pass, so that a screenshot is visibly stale, and
// a fresh pass every five minutes.
(function () {
  var clocks = document.querySelectorAll("[data-clock]");
  function tick() {
    var now = new Date();
    var s = now.toLocaleDateString() + " " + now.toLocaleTimeString();
    clocks.forEach(function (c) { c.textContent = s; });
  }
  tick();
  setInterval(tick, 1000);
  setInterval(function () {
    document.querySelectorAll("img.pass").forEach(function (img) {
      var u = new URL(img.src, location.href);
      u.searchParams.set("t", Date.now());
      img.src = u.toString();
    });
  }, 5 * 60 * 1000);
  // The colour follows the holder's record: when it changes, show the new one.
  var code = document.querySelector("[data-watch]");
  if (code && window.fetch) {
    setInterval(function () {
      fetch(code.getAttribute("data-watch"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (c) {
          if (c && c.colour && c.colour !== code.getAttribute("data-colour")) location.reload();
        })
        .catch(function () {});
    }, 15000);
  }
})();
