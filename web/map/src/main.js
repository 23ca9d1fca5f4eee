// The public map of places visited by confirmed cases (internal/http/exposure,
// Map). It draws the region itself — its districts' outlines and names from
// GET /api/v1/public/areas — or tiles, when the server names a tile URL
// template; over it the places from GET /api/v1/public/exposures, in
// clusters where they crowd, each with a popup kept on screen; and, on
// request, the places within 1 km of the browser's location with a circle
// of that radius. Everything it needs is in this bundle: no CDN, no tiles
// required.
import L from "./leaflet-global.js";
import "leaflet.markercluster";

const config = JSON.parse(document.getElementById("map-config").textContent);
const texts = config.texts;
const mapEl = document.getElementById("exposure-map");
const nearEl = document.getElementById("near");
const button = document.getElementById("near-me");

// maxZoom: the clusters need one, and no tile layer gives it.
const map = L.map(mapEl, { attributionControl: Boolean(config.tiles), zoomSnap: 0.5, maxZoom: 18 });
if (config.tiles) {
  L.tileLayer(config.tiles, { maxZoom: 19 }).addTo(map);
}
L.control.scale({ metric: true, imperial: false }).addTo(map);
map.setView([35, 105], 4); // until the places are known

// The region under the places: districts drawn in their own pane, below
// the markers, with their names.
map.createPane("areas").style.zIndex = "350";
const areas = L.geoJSON(null, {
  pane: "areas",
  interactive: false,
  style: { color: "#7a8793", weight: 1, fillColor: "#ffffff", fillOpacity: 0.55 },
  onEachFeature: (f, layer) => {
    layer.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "area-name", pane: "areas" });
  },
}).addTo(map);

// Places cluster where they crowd; a click on a cluster zooms into it.
const places = L.markerClusterGroup({ showCoverageOnHover: false, maxClusterRadius: 45, spiderfyOnMaxZoom: true, animate: false });
places.addTo(map);
let here = null; // the user's position and circle

function exposuresURL(params) {
  const q = new URLSearchParams({ lang: config.lang, ...params });
  return config.api + "?" + q.toString();
}

// Told is an error whose message is for the reader.
class Told extends Error {}

function told(e) {
  return e instanceof Told ? e.message : texts.failed;
}

async function load(params) {
  const res = await fetch(exposuresURL(params), { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (res.status === 429) {
    throw new Told(texts.too_many.replace("{s}", res.headers.get("Retry-After") || "60"));
  }
  if (!res.ok) {
    throw new Told(texts.failed);
  }
  return res.json();
}

// el builds an element with text content (never HTML) and children.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    e.setAttribute(k, v);
  }
  for (const c of children) {
    e.append(c);
  }
  return e;
}

function windowsList(p) {
  return el("ul", null, ...p.windows.map((w) => el("li", null, w.text)));
}

function popup(p) {
  return el("div", null, el("strong", null, p.name), " ", el("span", { class: "muted" }, p.type_name), windowsList(p));
}

// popupOptions keep a popup inside a phone's screen: no wider than the
// map, panned into view with a margin.
function popupOptions() {
  return { maxWidth: Math.max(160, Math.min(300, mapEl.clientWidth - 48)), autoPanPadding: L.point(16, 16), keepInView: true };
}

function drawPlaces(list) {
  places.clearLayers();
  const markers = list.map((p) => {
    const m = L.circleMarker([p.latitude, p.longitude], { radius: 8, color: "#b01e1e", weight: 2, fillColor: "#d62828", fillOpacity: 0.85 });
    m.bindPopup(() => popup(p), popupOptions());
    m.bindTooltip(p.name, { direction: "top", offset: [0, -8], className: "place-name" });
    return m;
  });
  places.addLayers(markers);
  if (list.length > 0) {
    map.fitBounds(places.getBounds(), { padding: [30, 30], maxZoom: 15 });
  } else if (areas.getLayers().length > 0) {
    map.fitBounds(areas.getBounds(), { padding: [10, 10] });
  }
}

async function loadAreas() {
  if (config.tiles || !config.areas) return;
  try {
    const res = await fetch(config.areas + "?lang=" + encodeURIComponent(config.lang), { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    areas.addData(await res.json());
    mapEl.dataset.areas = String(areas.getLayers().length);
  } catch {
    // The map still shows the places on its plain background.
  }
}

function say(text, withListLink) {
  nearEl.replaceChildren(el("p", { class: "notice", "data-testid": "near-message" }, text));
  if (withListLink) {
    nearEl.append(el("p", null, el("a", { href: "#list" }, texts.to_list)));
  }
}

function showNear(lat, lon, data) {
  if (here) {
    here.remove();
  }
  const circle = L.circle([lat, lon], { radius: config.radius, color: "#0b6e4f", weight: 2, fillOpacity: 0.06 });
  const you = L.circleMarker([lat, lon], { radius: 6, color: "#fff", weight: 2, fillColor: "#0b6e4f", fillOpacity: 1 })
    .bindTooltip(texts.you, { permanent: true, direction: "left", offset: [-8, 0], className: "place-name" });
  here = L.layerGroup([circle, you]).addTo(map);
  map.fitBounds(circle.getBounds(), { padding: [10, 10] });
  if (data.places.length === 0) {
    say(texts.near_none, true);
    return;
  }
  const items = data.places.map((p) =>
    el("li", { "data-place": String(p.id) }, el("strong", null, p.name), " ",
      el("span", { class: "muted" }, p.type_name + " · " + p.distance_text), windowsList(p)));
  nearEl.replaceChildren(el("h2", null, texts.near_title), el("ul", { class: "places", "data-testid": "near-list" }, ...items));
}

button.addEventListener("click", () => {
  if (!("geolocation" in navigator)) {
    say(texts.unavailable, true);
    return;
  }
  say(texts.locating, false);
  button.disabled = true;
  navigator.geolocation.getCurrentPosition(
    async (pos) => {
      const { latitude, longitude } = pos.coords;
      try {
        const data = await load({ lat: latitude.toFixed(6), lon: longitude.toFixed(6), radius: String(config.radius) });
        showNear(latitude, longitude, data);
      } catch (e) {
        say(told(e), true);
      } finally {
        button.disabled = false;
      }
    },
    (err) => {
      button.disabled = false;
      say(err.code === err.PERMISSION_DENIED ? texts.denied : texts.unavailable, true);
    },
    { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 },
  );
});

loadAreas()
  .then(() => load({}))
  .then((data) => {
    drawPlaces(data.places);
    mapEl.dataset.loaded = String(data.places.length);
  })
  .catch((e) => {
    mapEl.dataset.loaded = "failed";
    say(told(e), true);
  });
