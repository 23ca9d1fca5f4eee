// The place pages: "use my location" fills a venue's coordinates from the
// browser's geolocation (the number inputs stay for typing them), and
// "print" prints the poster page.
(function () {
  var locate = document.querySelector("[data-locate]");
  var lat = document.getElementById("f-latitude");
  var lon = document.getElementById("f-longitude");
  var status = document.querySelector("[data-locate-status]");
  if (locate && lat && lon && navigator.geolocation) {
    locate.style.display = "";
    locate.addEventListener("click", function () {
      status.textContent = locate.getAttribute("data-wait");
      navigator.geolocation.getCurrentPosition(function (pos) {
        lat.value = pos.coords.latitude.toFixed(6);
        lon.value = pos.coords.longitude.toFixed(6);
        status.textContent = "";
      }, function () {
        status.textContent = locate.getAttribute("data-denied");
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  var print = document.querySelector("[data-print]");
  if (print && window.print) {
    print.style.display = "";
    print.addEventListener("click", function () { window.print(); });
  }
})();
