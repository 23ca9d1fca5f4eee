// The checkpoint page: scan or paste a pass, verify it here with WebCrypto
// against the region's trust list, show the result full screen, record the
// passage, and send the passages when the server answers. A service worker
// (served at /checkpoint/sw.js) keeps the page, this script and the trust
// list, so all of it works with no network.
import { loadTrustList, verifyPass, trustListState, b64urlDecode, Reason } from "./verify.js";
import { PassageQueue, RejectedCount, flush, passageOf } from "./queue.js";
import { Scanner } from "./scan.js";

const TRUST_KEY = "outbreak.checkpoint.trust-list.v1";
const PLACE_KEY = "outbreak.checkpoint.place.v1";
const NET_TIMEOUT_MS = 6000;
const FLUSH_EVERY_MS = 30000;
const TRUST_EVERY_MS = 5 * 60000;

const $ = (id) => document.getElementById(id);
const cfg = JSON.parse($("cp-config").textContent);
const rootKey = b64urlDecode(cfg.root_key);
const queue = new PassageQueue(localStorage);
const rejected = new RejectedCount(localStorage);

/** Returns the text of key (without "checkpoint."), with {name} filled from vars. */
function t(key, vars = {}) {
  const s = cfg.texts[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

const locale = cfg.lang === "zh" ? "zh-CN" : "en-GB";
function formatter(opts) {
  try {
    return new Intl.DateTimeFormat(locale, { ...opts, timeZone: cfg.time_zone || undefined });
  } catch {
    return new Intl.DateTimeFormat(locale, opts);
  }
}
const dateTime = formatter({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
const clockTime = formatter({ month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

let trust = null; // the trust list in use
let online = navigator.onLine;

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

// ---------------------------------------------------------------------------
// The status line.

function showStatus() {
  document.body.classList.toggle("offline", !online);
  const net = $("cp-net");
  net.textContent = online ? t("online") : t("offline");
  net.className = "pill " + (online ? "ok" : "warn");
  net.dataset.state = online ? "online" : "offline";

  const tr = $("cp-trust");
  const alert = $("cp-trust-alert");
  const state = trustState();
  if (state !== "loading") document.body.dataset.trust = state;
  alert.hidden = true;
  if (trust) {
    const dates = { date: dateTime.format(trust.issuedAt * 1000), until: dateTime.format(trust.expiresAt * 1000) };
    tr.textContent = t(state === "expired" ? "trust_expired" : "trust_ready", dates);
    tr.className = "pill " + (state === "expired" ? "bad" : state === "stale" ? "warn" : "ok");
    if (state === "expired" || state === "stale") {
      alert.textContent = t(state === "expired" ? "trust_expired_alert" : "trust_stale_alert", dates);
      alert.className = state === "expired" ? "error" : "alert-warn";
      alert.hidden = false;
    }
  } else if (state === "missing") {
    tr.textContent = t("trust_missing");
    tr.className = "pill bad";
  }

  const q = $("cp-queue");
  const n = queue.size();
  q.dataset.count = String(n);
  const parts = [];
  if (n > 0) parts.push(t("queued", { n }));
  const r = rejected.get();
  if (r > 0) parts.push(t("rejected", { n: r }));
  q.textContent = parts.join(" · ");
  q.className = "pill " + (r > 0 ? "bad" : "warn");
}

// ---------------------------------------------------------------------------
// The trust list: the newest copy that verifies against the root key, from
// the network (through the service worker, which falls back to its copy)
// or from this phone's storage. A list past its expiry verifies nothing
// (verifyPass refuses every pass with it): the page says so, and that the
// phone must reconnect to get a new one.

/** Returns "loading", "missing", "expired", "stale" (expiring soon) or "ready". */
function trustState() {
  if (!trust) return document.body.dataset.trust === "loading" ? "loading" : "missing";
  return trustListState(trust, Math.floor(Date.now() / 1000));
}

async function refreshTrust() {
  const candidates = [];
  try {
    const r = await Promise.race([fetch(cfg.trust_list, { cache: "no-cache", credentials: "same-origin" }), timeout(NET_TIMEOUT_MS)]);
    if (r.ok) candidates.push(await r.text());
  } catch {
    // offline, and no copy in the service worker: storage may have one
  }
  const stored = localStorage.getItem(TRUST_KEY);
  if (stored) candidates.push(stored);
  let best = null;
  let bestText = null;
  for (const text of candidates) {
    try {
      const tl = await loadTrustList(text, rootKey);
      if (tl.region !== cfg.region) continue;
      if (!best || tl.issuedAt > best.issuedAt) [best, bestText] = [tl, text];
    } catch {
      // not signed by the root key, or damaged: never used
    }
  }
  if (best && (!trust || best.issuedAt >= trust.issuedAt)) {
    trust = best;
    if (bestText !== stored) {
      try {
        localStorage.setItem(TRUST_KEY, bestText);
      } catch {
        // storage full: the service worker's copy remains
      }
    }
  }
  if (!trust) document.body.dataset.trust = "missing";
  showStatus();
}

// ---------------------------------------------------------------------------
// Showing a result.

let clockTimer = 0;
let current = null; // the result on screen

function tickClock() {
  $("cp-clock").textContent = clockTime.format(Date.now());
}

async function check(text) {
  text = text.trim();
  if (!text) return;
  const seenAt = Date.now();
  let res;
  if (!trust) {
    res = { ok: false, reason: "no_trust_list" };
  } else {
    try {
      res = await verifyPass(text, trust, Math.floor(seenAt / 1000), cfg.region);
    } catch {
      res = { ok: false, reason: Reason.Malformed };
    }
  }
  show(res);
  record(res, seenAt);
}

function show(res) {
  const el = $("cp-result");
  current = res;
  if (res.ok) {
    const c = res.claims;
    el.dataset.colour = c.colour;
    $("cp-word").textContent = t("colour." + c.colour);
    $("cp-name").textContent = c.maskedName;
    $("cp-region").textContent = c.region === cfg.region && cfg.region_name ? `${cfg.region_name} (${c.region})` : c.region;
    $("cp-expires").textContent = dateTime.format(c.expires * 1000);
    $("cp-reason").textContent = "";
    $("cp-facts").hidden = false;
  } else {
    el.dataset.colour = "refused";
    $("cp-word").textContent = t("refused");
    $("cp-name").textContent = "";
    $("cp-facts").hidden = true;
    $("cp-reason").textContent = t("reason." + res.reason);
    if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  }
  el.dataset.reason = res.ok ? "" : res.reason;
  tickClock();
  clearInterval(clockTimer);
  clockTimer = setInterval(tickClock, 1000);
  el.hidden = false;
  $("cp-next").focus();
}

function dismiss() {
  const el = $("cp-result");
  el.hidden = true;
  el.dataset.colour = "";
  current = null;
  clearInterval(clockTimer);
  $("cp-text").value = "";
  lastScan.at = Date.now();
  if (scanner.running) scanner.resume();
}

function record(res, seenAt) {
  const p = passageOf(res, { clientID: crypto.randomUUID(), seenAt, account: cfg.account_id, placeID: place?.id });
  try {
    queue.add(p);
  } catch {
    // Storage is full: the check stands, but this passage cannot be kept.
  }
  showStatus();
  send();
}

// ---------------------------------------------------------------------------
// Sending passages: one flush at a time in this tab, and across tabs where
// the browser has Web Locks (the server would count each once anyway).

let flushing = null;

function send() {
  if (flushing) return flushing;
  const run = async () => {
    const res = await flush({ queue, rejected, fetch: (u, o) => fetch(u, o), sessionURL: cfg.session, passagesURL: cfg.passages });
    if (res.state === "offline") setOnline(false);
    else if (res.state === "ok" || res.state === "signed_out") setOnline(true);
    $("cp-net").title = res.state === "signed_out" ? t("signed_out") : "";
    if (res.state === "signed_out") {
      $("cp-net").textContent = t("signed_out");
      $("cp-net").className = "pill bad";
    }
    if (res.state === "ok" || res.state === "idle") await refreshSummary();
    return res;
  };
  const locked = navigator.locks ? () => navigator.locks.request("outbreak-checkpoint-flush", run) : run;
  flushing = locked()
    .catch(() => ({ state: "error" }))
    .finally(() => {
      flushing = null;
      showStatus();
    });
  return flushing;
}

async function refreshSummary() {
  try {
    const r = await fetch(cfg.summary, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    if (!r.ok) return;
    const s = await r.json();
    $("cp-summary").textContent = t("summary", { green: s.green, yellow: s.yellow, red: s.red, refused: s.refused });
  } catch {
    // offline: the last figures stay
  }
}

function setOnline(v) {
  if (online === v) return;
  online = v;
  showStatus();
}

// ---------------------------------------------------------------------------
// The place this checkpoint stands at: chosen once, kept on this phone for
// the operator who chose it. Accepted passes shown there count as their
// holders' check-ins at the place.

function loadPlace() {
  try {
    const v = JSON.parse(localStorage.getItem(PLACE_KEY) ?? "null");
    return v && v.account === cfg.account_id && Number.isInteger(v.id) && v.id > 0 ? v : null;
  } catch {
    return null;
  }
}

let place = loadPlace();

function showPlace() {
  const el = $("cp-place");
  el.textContent = place ? t("place_at", { name: place.name }) : t("place_none");
  el.dataset.id = place ? String(place.id) : "";
  el.className = "pill " + (place ? "ok" : "warn");
}

function setPlace(v) {
  place = v;
  try {
    if (v) localStorage.setItem(PLACE_KEY, JSON.stringify(v));
    else localStorage.removeItem(PLACE_KEY);
  } catch {
    // storage full: the choice lasts until the page is closed
  }
  showPlace();
}

let placeSearch = 0;
async function listPlaces(q) {
  const seq = ++placeSearch;
  const err = $("cp-place-error");
  try {
    const r = await fetch(cfg.places + "?q=" + encodeURIComponent(q), { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(String(r.status));
    const body = await r.json();
    if (seq !== placeSearch) return;
    const list = $("cp-place-list");
    list.replaceChildren(
      ...body.places.map((p) => {
        const o = document.createElement("option");
        o.value = String(p.id);
        o.textContent = p.address ? `${p.name} · ${p.address}` : p.name;
        o.dataset.name = p.name;
        return o;
      }),
    );
    if (place) list.value = String(place.id);
    err.hidden = true;
  } catch {
    err.hidden = false;
  }
}

let placeTimer = 0;
$("cp-place-pick").addEventListener("toggle", () => {
  if ($("cp-place-pick").open) listPlaces($("cp-place-q").value.trim());
});
$("cp-place-q").addEventListener("input", () => {
  clearTimeout(placeTimer);
  placeTimer = setTimeout(() => listPlaces($("cp-place-q").value.trim()), 250);
});
$("cp-place-set").addEventListener("click", () => {
  const o = $("cp-place-list").selectedOptions[0];
  if (!o) return;
  setPlace({ account: cfg.account_id, id: Number(o.value), name: o.dataset.name });
  $("cp-place-pick").open = false;
});
$("cp-place-clear").addEventListener("click", () => {
  setPlace(null);
  $("cp-place-pick").open = false;
});

// ---------------------------------------------------------------------------
// Wiring.

// The code just checked is usually still before the camera when the
// operator taps Next: it is not read again for a few seconds.
const RESCAN_AFTER_MS = 4000;
let lastScan = { text: "", at: 0 };

const scanner = new Scanner($("cp-video"), $("cp-canvas"), (text) => {
  if (text === lastScan.text && Date.now() - lastScan.at < RESCAN_AFTER_MS) {
    scanner.resume();
    return;
  }
  lastScan = { text, at: Date.now() };
  check(text);
});

$("cp-scan").addEventListener("click", async () => {
  const err = $("cp-camera-error");
  err.hidden = true;
  if (scanner.running) {
    scanner.stop();
    $("cp-camera").hidden = true;
    $("cp-scan").textContent = t("scan");
    return;
  }
  try {
    $("cp-camera").hidden = false;
    await scanner.start();
    $("cp-scan").textContent = t("scan_stop");
  } catch {
    scanner.stop();
    $("cp-camera").hidden = true;
    err.textContent = t("camera_error");
    err.hidden = false;
  }
});

$("cp-form").addEventListener("submit", (e) => {
  e.preventDefault();
  check($("cp-text").value);
});
$("cp-text").addEventListener("paste", () => {
  // Check as soon as a pass is pasted: one tap less at a queue.
  setTimeout(() => {
    if ($("cp-result").hidden && $("cp-text").value.trim().startsWith("OB1:")) check($("cp-text").value);
  }, 0);
});
$("cp-next").addEventListener("click", dismiss);
// Signing out keeps this account's unsent passages on the phone (they go
// when the same account signs in again), but say so first.
$("cp-logout").addEventListener("submit", (e) => {
  const n = queue.size(cfg.account_id);
  if (n > 0 && !confirm(t("logout_unsent", { n }))) e.preventDefault();
});
document.addEventListener("keydown", (e) => {
  if (current && (e.key === "Escape" || e.key === "Enter")) {
    e.preventDefault();
    dismiss();
  }
});

window.addEventListener("online", () => {
  setOnline(true);
  refreshTrust();
  send();
});
window.addEventListener("offline", () => setOnline(false));
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") send();
});
setInterval(() => {
  if (queue.size() > 0) send();
}, FLUSH_EVERY_MS);
setInterval(refreshTrust, TRUST_EVERY_MS);
// The list may expire while the page stays open.
setInterval(showStatus, 60000);

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register(cfg.worker, { scope: cfg.scope }).catch(() => {
    // No worker (a private window, say): the page works until it is closed.
  });
}

showStatus();
showPlace();
refreshTrust().then(() => send());
refreshSummary();
