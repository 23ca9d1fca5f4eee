// Signing out clears this phone's storage (the server says so: a shared
// phone keeps nothing of the last person), and with it the check-ins made
// without network that the check-in page has not sent yet. The check-in
// page sends them first; on every other page of a resident, this asks
// before they are lost.
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
    if (n > 0 && !window.confirm(form.getAttribute("data-unsent").replace("{n}", String(n)))) e.preventDefault();
  });
})();
