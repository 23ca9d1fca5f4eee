// Signing out clears this phone's storage (the server says so: a shared
// phone keeps nothing of the last person), and with it the check-ins made
// without network that the check-in page has not sent yet. The check-in
// page sends them first; on every other page of a resident, this hands the
// sign-out to the check-in page (data-send: /checkin?signout=1), which
// sends them and signs out. With no network it asks before they are lost.
(function () {
  var form = document.querySelector('form[action="/logout"][data-unsent]');
  if (!form || document.getElementById("ci-config")) return; // the check-in page guards its own
  form.addEventListener("submit", function (e) {
    var account = Number(form.getAttribute("data-account"));
    var n = 0;
    try {
      var all = JSON.parse(localStorage.getItem("outbreak.checkin.queue.v1") || "[]");
      if (Array.isArray(all)) n = all.filter(function (x) { return x && x.account === account; }).length;
    } catch (err) {
      n = 0;
    }
    if (n === 0) return;
    if (navigator.onLine && form.getAttribute("data-send")) {
      e.preventDefault();
      window.location.assign(form.getAttribute("data-send"));
    } else if (!window.confirm(form.getAttribute("data-unsent").replace("{n}", String(n)))) {
      e.preventDefault();
    }
  });
})();
