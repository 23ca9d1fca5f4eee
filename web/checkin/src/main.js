// The check-in page (GET /checkin), made by the server and working without
// this script. The script adds:
//  - a poster's URL, /checkin#OBP1:…, opens the place (the fragment never
//    reaches the server: the page asks for /checkin?code=… instead);
//  - the camera, to scan a poster from the page itself;
//  - check-ins through the check-in API with ids made here
//    (crypto.randomUUID), kept on the phone when the network is down or
//    the server sheds load, and sent when it is back; those the server
//    refuses are kept to show until the resident dismisses them;
//  - a check-out when the page is left (navigator.sendBeacon);
//  - a service worker (/checkin/sw.js) that keeps an offline copy of the
//    page: a shell holding no one's data (GET /checkin/offline), this
//    script and the stylesheet, so that a poster's URL opens with no
//    network at all.
//
// The same script runs in that offline copy (cfg.offline): it reads what
// the poster's code claims (the signature is the server's to check),
// records the check-in in the queue of the account the browser was last
// signed in to on this page (a cookie the server sets, and clears at every
// sign-in and sign-out: no cookie, no offline check-in), and once the
// server answers again it opens the real page, which sends the queue.
import { Scanner } from "../../checkpoint/src/scan.js";
import { CheckInQueue, Family, RefusedCheckIns, CLOCK_KEY, codeOf, flush } from "./queue.js";
import { readPlaceCode, refusalOf } from "./place.js";

const FLUSH_EVERY_MS = 30000;
const PROBE_EVERY_MS = 15000;

const $ = (id) => document.getElementById(id);
const cfg = JSON.parse($("ci-config").textContent);
const queue = new CheckInQueue(localStorage);
const refusals = new RefusedCheckIns(localStorage);
const family = new Family(localStorage);

/** Returns the account the offline copy acts for, from the server's cookie; 0 for none. */
function offlineAccount() {
  for (const part of document.cookie.split(";")) {
    const [k, v] = part.trim().split("=");
    if (k === cfg.account_cookie && /^[1-9][0-9]{0,15}$/.test(v ?? "")) return Number(v);
  }
  return 0;
}

const account = cfg.offline ? offlineAccount() : cfg.account;
// The real page keeps the family members the resident may check in, for
// the offline copy to offer.
if (!cfg.offline) {
  try {
    family.save(account, cfg.dependents);
  } catch {
    // storage full: offline, the resident checks in alone
  }
}

// The server's clock less this phone's: check-in times are the server's.
// The offline copy uses the difference the real page last saw.
let skew = 0;
if (cfg.offline) {
  skew = Number(localStorage.getItem(CLOCK_KEY)) || 0;
} else {
  skew = cfg.now - Math.floor(Date.now() / 1000);
  try {
    localStorage.setItem(CLOCK_KEY, String(skew));
  } catch {
    // storage full: the offline copy uses the phone's clock
  }
}
const nowSecs = () => Math.floor(Date.now() / 1000) + skew;

/** Returns the text of key (without "checkin.js."), with {name} filled from vars. */
function t(key, vars = {}) {
  const s = cfg.texts[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

const timeOf = (secs) =>
  new Date(secs * 1000).toLocaleTimeString(cfg.lang === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit" });

// Set when the page itself moves on (a form, a scan, a link within the
// check-in pages): that is not leaving, and does not check out.
let moving = false;
function go(url, replace = false) {
  moving = true;
  if (replace) location.replace(url);
  else location.assign(url);
}

function para(text, testid) {
  const p = document.createElement("p");
  p.textContent = text;
  if (testid) p.dataset.testid = testid;
  return p;
}

// ---------------------------------------------------------------------------
// What the page shows of the queue, and of the check-ins the server refused.

const note = $("ci-offline");

function showQueue(extra = "") {
  const mine = account ? queue.list().filter((e) => e.account === account && e.kind !== "checkout") : [];
  const n = account ? queue.size(account) : 0;
  const parts = [];
  if (extra) parts.push(para(extra));
  if (n > 0) parts.push(para(t("queued", { n }), "queued-count"));
  // One line a visit: family members checked in together share it.
  const lines = new Set(mine.map((e) => t("queued_item", { place: e.label || t("place_unknown"), time: timeOf(e.t_in) })));
  for (const line of lines) parts.push(para(line, "queued-item"));
  note.hidden = parts.length === 0;
  note.replaceChildren(...parts);
  note.dataset.count = String(n);
}

function showRefused() {
  const el = $("ci-refused");
  const list = account ? refusals.list(account) : [];
  el.hidden = list.length === 0;
  if (list.length === 0) {
    el.replaceChildren();
    return;
  }
  const items = list.map((e) =>
    para(
      t("refused_item", { place: e.label || t("place_unknown"), time: timeOf(e.t_in), reason: e.message || t("reason." + e.reason) }),
      "refused-item",
    ),
  );
  const b = document.createElement("button");
  b.type = "button";
  b.className = "link";
  b.textContent = t("refused_dismiss");
  b.dataset.testid = "refused-dismiss";
  b.addEventListener("click", () => {
    refusals.dismiss(account);
    showRefused();
  });
  const h = document.createElement("h2");
  h.textContent = t("refused_title");
  el.replaceChildren(h, ...items, para(t("refused_help"), ""), b);
}

// ---------------------------------------------------------------------------
// Sending the queue: one flush at a time, and none before the server said
// when to come back. The offline copy cannot send (it has no session's
// token): it opens the real page once the server answers.

let flushing = null;
let notBefore = 0;
let pendingShown = false; // a check-in kept here is on screen in place of the server's
const queuedAtLoad = !cfg.offline && queue.size(account) > 0;

function send() {
  if (cfg.offline) return probe();
  if (flushing || Date.now() < notBefore) return flushing;
  flushing = flush({ queue, refusals, fetch: (u, o) => fetch(u, o), api: cfg.api, csrf: cfg.csrf, account })
    .then((res) => {
      if (res.state === "busy") notBefore = Date.now() + res.retryAfter * 1000;
      if (res.refused.length > 0) showRefused();
      if (res.state === "ok" && res.sent > 0 && (pendingShown || queuedAtLoad) && !moving) {
        // The server has them: its page shows the check-in in progress.
        go(cfg.page, true);
        return res;
      }
      showQueue(res.state === "busy" ? t("busy") : res.state === "ok" && res.sent > 0 ? t("sent") : "");
      return res;
    })
    .catch(() => ({ state: "error" }))
    .finally(() => {
      flushing = null;
    });
  return flushing;
}

// The offline copy asks whether the server answers again; when it does,
// the real page takes over (and sends what waits here), showing the place
// on screen, if one is, now that the server can check it.
let probing = false;
let pendingCode = null;

async function probe() {
  if (probing || moving) return;
  probing = true;
  try {
    const r = await fetch(cfg.health, { cache: "no-store" });
    if (r.ok) go(pendingCode ? cfg.page + "?code=" + encodeURIComponent(pendingCode) : cfg.page, true);
  } catch {
    // still offline
  } finally {
    probing = false;
  }
}

// ---------------------------------------------------------------------------
// Checking in: the confirm form, through the API.

function itemsOf(form) {
  const fd = new FormData(form);
  const tIn = nowSecs();
  const ticked = new Set(fd.getAll("for"));
  const items = [];
  const label = form.dataset.label || "";
  for (const input of form.querySelectorAll("input[data-person]")) {
    const person = input.dataset.person;
    const self = input === form.querySelector("input[data-person]");
    if (!self && !ticked.has(person)) continue;
    const it = { client_id: input.value, code: String(fd.get("code") ?? ""), t_in: tIn, label };
    const carriage = String(fd.get("carriage") ?? "").trim();
    const seat = String(fd.get("seat") ?? "").trim();
    if (carriage) it.carriage = carriage;
    if (seat) it.seat = seat;
    if (!self) it.for = Number(person);
    items.push(it);
  }
  return items;
}

function current() {
  const el = $("ci-current");
  return el ? { client_id: el.dataset.clientId, t_in: Number(el.dataset.tIn), place: el.dataset.place } : null;
}

async function postJSON(url, body) {
  return fetch(url, {
    method: "POST",
    credentials: "same-origin",
    cache: "no-store",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": cfg.csrf },
    body: JSON.stringify(body),
  });
}

function keep(items, message) {
  try {
    queue.add(...items.map((it) => ({ ...it, account })));
  } catch {
    // storage full: fall back on the form, which needs the network
    return false;
  }
  const form = $("ci-form");
  if (form) form.closest("section").hidden = true;
  pendingShown = true;
  showQueue(message + " " + t("checked_in_offline", { time: timeOf(items[0].t_in) }));
  return true;
}

async function checkIn(form) {
  const items = itemsOf(form);
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const prev = current();
  try {
    if (prev && prev.place !== form.dataset.place) {
      // Scanning another place: leave the one before.
      const at = items[0].t_in;
      try {
        const r = await postJSON(`${cfg.api}/${encodeURIComponent(prev.client_id)}/checkout`, { t_in: prev.t_in, t_out: at });
        if (!r.ok && r.status !== 404) throw new Error(String(r.status));
      } catch {
        queue.checkOut({ account, client_id: prev.client_id, t_in: prev.t_in, t_out: at });
      }
    }
    let r;
    try {
      r = await postJSON(cfg.api, { checkins: items.map(({ label, ...it }) => it) });
    } catch {
      if (!keep(items, t("offline_saved"))) throw new Error("storage");
      return;
    }
    if (r.status === 429 || r.status === 503) {
      const secs = Number(r.headers.get("Retry-After")) || 5;
      notBefore = Date.now() + secs * 1000;
      if (!keep(items, t("busy"))) throw new Error("storage");
      setTimeout(send, secs * 1000 + 100);
      return;
    }
    if (!r.ok) throw new Error(String(r.status));
    const body = await r.json();
    const mine = body.results?.[0];
    if (mine && mine.status === "refused") {
      const err = $("ci-form-error") ?? document.createElement("p");
      err.id = "ci-form-error";
      err.className = "field-error";
      err.dataset.testid = "form-error";
      err.textContent = mine.message || mine.reason;
      button.before(err);
      button.disabled = false;
      return;
    }
    go(cfg.page);
  } catch {
    // Anything unexpected: the form, as without this script.
    moving = true;
    form.submit();
  }
}

// ---------------------------------------------------------------------------
// A poster opened, or scanned, with no network: what its code claims, and
// a check-in kept on the phone.

/** Returns the words for a place as its code describes it: its type and number. */
function labelOf(c) {
  const parts = [t("type." + c.type), t("place_no", { id: c.placeID })];
  if (c.carriage) parts.push(t("carriage_no", { n: c.carriage }));
  return parts.join(" · ");
}

function offerOffline(code) {
  pendingCode = code;
  const section = $("ci-place");
  section.hidden = false;
  const c = readPlaceCode(code);
  const h = document.createElement("h2");
  h.dataset.testid = "offline-place-name";
  const out = [h];
  if (!c) {
    h.textContent = t("not_a_place");
    section.replaceChildren(...out);
    return;
  }
  const label = labelOf(c);
  h.textContent = label;
  section.dataset.placeId = String(c.placeID);
  const refusal = refusalOf(c, cfg.region, nowSecs());
  if (refusal) {
    const p = para(t("reason." + refusal), "offline-refusal");
    p.className = "error";
    out.push(p);
    section.replaceChildren(...out);
    return;
  }
  out.push(para(t("offline_unverified"), "offline-unverified"));
  if (!account) {
    const p = para(t("offline_no_account"), "offline-no-account");
    p.className = "error";
    out.push(p);
    section.replaceChildren(...out);
    return;
  }
  // The family members the real page listed, to check in with the
  // resident, as there.
  const ticks = [];
  const people = family.of(account);
  let with_ = null;
  if (people.length > 0) {
    with_ = document.createElement("fieldset");
    with_.className = "checks";
    const legend = document.createElement("legend");
    legend.textContent = t("with");
    with_.append(legend);
    for (const p of people) {
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = String(p.id);
      box.dataset.testid = "offline-for-" + p.id;
      const l = document.createElement("label");
      l.append(box, " " + p.name);
      with_.append(l);
      ticks.push(box);
    }
    out.push(with_);
  }
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = t("offline_confirm");
  b.dataset.testid = "offline-confirm";
  b.addEventListener("click", () => {
    b.disabled = true;
    const at = nowSecs();
    const items = [{ client_id: crypto.randomUUID(), code, t_in: at, label }];
    for (const box of ticks) {
      if (box.checked) items.push({ client_id: crypto.randomUUID(), code, t_in: at, label, for: Number(box.value) });
    }
    if (keep(items, t("offline_saved"))) {
      pendingCode = null;
      b.remove();
      with_?.remove();
    } else {
      b.disabled = false;
    }
  });
  out.push(b);
  section.replaceChildren(...out);
}

function open(code) {
  if (navigator.onLine && !cfg.offline) go(cfg.page + "?code=" + encodeURIComponent(code));
  else offerOffline(code);
}

const scanButton = $("ci-scan");
if (navigator.mediaDevices?.getUserMedia) {
  scanButton.hidden = false;
  const scanner = new Scanner($("ci-video"), $("ci-canvas"), (text) => {
    const code = codeOf(text);
    if (!code) {
      const err = $("ci-camera-error");
      err.textContent = t("not_a_place");
      err.hidden = false;
      setTimeout(() => scanner.resume(), 1500);
      return;
    }
    scanner.stop();
    $("ci-camera").hidden = true;
    scanButton.textContent = t("scan");
    open(code);
  });
  scanButton.addEventListener("click", async () => {
    const err = $("ci-camera-error");
    err.hidden = true;
    if (scanner.running) {
      scanner.stop();
      $("ci-camera").hidden = true;
      scanButton.textContent = t("scan");
      return;
    }
    try {
      $("ci-camera").hidden = false;
      await scanner.start();
      scanButton.textContent = t("scan_stop");
    } catch {
      scanner.stop();
      $("ci-camera").hidden = true;
      err.textContent = t("camera_error");
      err.hidden = false;
    }
  });
}

// ---------------------------------------------------------------------------
// Wiring.

// A poster's URL: the code is in the fragment (percent-encoded: Base45
// has spaces). It may also arrive while the page is open. The offline copy
// also answers /checkin?code=… when the server does not.
function openHash() {
  let text = location.hash.slice(1);
  try {
    text = decodeURIComponent(text);
  } catch {
    // not percent-encoded
  }
  let code = codeOf(text);
  if (!code && cfg.offline) code = codeOf(location.href);
  if (!code) return;
  history.replaceState(null, "", location.pathname + (cfg.offline ? "" : location.search));
  if (navigator.onLine && !cfg.offline) go(cfg.page + "?code=" + encodeURIComponent(code), true);
  else offerOffline(code);
}
window.addEventListener("hashchange", openHash);
if (!$("ci-form")) openHash();

const form = $("ci-form");
if (form) {
  // Fresh ids made here for each person; the server's stand in without this script.
  for (const input of form.querySelectorAll("input[data-person]")) input.value = crypto.randomUUID();
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    checkIn(form);
  });
}

// Signing out clears this browser's storage (the server says so), queue
// included: what waits is sent first, and the resident warned if it
// cannot be.
const logout = document.querySelector('form[action="/logout"]');
let loggingOut = false;
logout?.addEventListener("submit", async (e) => {
  if (loggingOut || cfg.offline || queue.size(account) === 0) return;
  e.preventDefault();
  await send();
  if (queue.size(account) > 0 && !confirm(t("logout_unsent", { n: queue.size(account) }))) return;
  loggingOut = true;
  moving = true;
  logout.submit();
});

// (A submission held back, such as a sign-out declined above, is not leaving.)
for (const f of document.querySelectorAll("form")) {
  if (f !== form) f.addEventListener("submit", (e) => (moving = moving || !e.defaultPrevented));
}
for (const a of document.querySelectorAll("a[data-keep]")) a.addEventListener("click", () => (moving = true));

// Leaving the page checks out of the check-in in progress.
window.addEventListener("pagehide", () => {
  const cur = current();
  if (moving || !cur) return;
  const at = nowSecs();
  if (!navigator.onLine) {
    queue.checkOut({ account, client_id: cur.client_id, t_in: cur.t_in, t_out: at });
    return;
  }
  navigator.sendBeacon(cfg.checkout, new URLSearchParams({ csrf: cfg.csrf, client_id: cur.client_id, t_in: String(cur.t_in) }));
});
// Back from the browser's cache after a check-out: show the server's state.
window.addEventListener("pageshow", (e) => {
  if (e.persisted && current()) location.reload();
});

window.addEventListener("online", send);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") send();
});
if (cfg.offline) {
  setInterval(probe, PROBE_EVERY_MS);
} else {
  setInterval(() => {
    if (queue.size(account) > 0) send();
  }, FLUSH_EVERY_MS);
}

if (!cfg.offline && cfg.worker && "serviceWorker" in navigator) {
  navigator.serviceWorker.register(cfg.worker, { scope: cfg.scope }).catch(() => {
    // No worker (a private window, say): the page works online, and keeps
    // check-ins made while it is open.
  });
}

// Signing out on another of the resident's pages with check-ins still
// here comes to this page (signout.js): they are sent, then the sign-out
// goes on as from this page's own button.
if (!cfg.offline && logout && new URLSearchParams(location.search).has("signout")) {
  history.replaceState(null, "", location.pathname);
  moving = true; // neither a check-out on leaving nor a reload once sent
  logout.requestSubmit();
}

showQueue();
showRefused();
if (cfg.offline && !account) $("ci-shell-status").textContent = t("offline_no_account");
if (!cfg.offline && queue.size(account) > 0) send();
