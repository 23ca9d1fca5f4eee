// The check-in page (GET /checkin), made by the server and working without
// this script. The script adds:
//  - a poster's URL, /checkin#OBP1:…, opens the place (the fragment never
//    reaches the server: the page asks for /checkin?code=… instead);
//  - the camera, to scan a poster from the page itself;
//  - check-ins through the check-in API with ids made here
//    (crypto.randomUUID), kept on the phone when the network is down or
//    the server sheds load, and sent when it is back;
//  - a check-out when the page is left (navigator.sendBeacon).
import { Scanner } from "../../checkpoint/src/scan.js";
import { CheckInQueue, codeOf, flush } from "./queue.js";

const FLUSH_EVERY_MS = 30000;

const $ = (id) => document.getElementById(id);
const cfg = JSON.parse($("ci-config").textContent);
const queue = new CheckInQueue(localStorage);
// The server's clock less this phone's: check-in times are the server's.
const skew = cfg.now - Math.floor(Date.now() / 1000);
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

// ---------------------------------------------------------------------------
// What the page shows of the queue.

const note = $("ci-offline");
let refusedNote = "";

function showQueue(extra = "") {
  const n = queue.size(cfg.account);
  const parts = [];
  if (extra) parts.push(extra);
  if (n > 0) parts.push(t("queued", { n }));
  if (refusedNote) parts.push(refusedNote);
  note.hidden = parts.length === 0;
  note.replaceChildren(
    ...parts.map((s) => {
      const p = document.createElement("p");
      p.textContent = s;
      return p;
    }),
  );
  note.dataset.count = String(n);
}

// ---------------------------------------------------------------------------
// Sending the queue: one flush at a time, and none before the server said
// when to come back.

let flushing = null;
let notBefore = 0;
let pendingShown = false; // a check-in kept here is on screen in place of the server's

function send() {
  if (flushing || Date.now() < notBefore) return flushing;
  flushing = flush({ queue, fetch: (u, o) => fetch(u, o), api: cfg.api, csrf: cfg.csrf, account: cfg.account })
    .then((res) => {
      if (res.state === "busy") notBefore = Date.now() + res.retryAfter * 1000;
      if (res.refused.length > 0) refusedNote = t("refused", { n: res.refused.length, reason: res.refused[0].message || res.refused[0].reason });
      if (res.state === "ok" && res.sent > 0 && pendingShown && !moving) {
        // The server has them: its page shows the check-in in progress.
        go(cfg.page);
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

// ---------------------------------------------------------------------------
// Checking in: the confirm form, through the API.

function itemsOf(form) {
  const fd = new FormData(form);
  const tIn = nowSecs();
  const ticked = new Set(fd.getAll("for"));
  const items = [];
  for (const input of form.querySelectorAll("input[data-person]")) {
    const person = input.dataset.person;
    const self = input === form.querySelector("input[data-person]");
    if (!self && !ticked.has(person)) continue;
    const it = { client_id: input.value, code: String(fd.get("code") ?? ""), t_in: tIn };
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
    queue.add(...items.map((it) => ({ ...it, account: cfg.account })));
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
        queue.checkOut({ account: cfg.account, client_id: prev.client_id, t_in: prev.t_in, t_out: at });
      }
    }
    let r;
    try {
      r = await postJSON(cfg.api, { checkins: items });
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
// Scanning a poster with the camera, and a poster opened offline.

function offerOffline(code) {
  const section = $("ci-offline");
  section.hidden = false;
  const p = document.createElement("p");
  p.textContent = t("offline_scan");
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = t("offline_confirm");
  b.dataset.testid = "offline-confirm";
  b.addEventListener("click", () => {
    keep([{ client_id: crypto.randomUUID(), code, t_in: nowSecs() }], t("offline_saved"));
  });
  section.replaceChildren(p, b);
}

function open(code) {
  if (navigator.onLine) go(cfg.page + "?code=" + encodeURIComponent(code));
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
// has spaces). It may also arrive while the page is open.
function openHash() {
  let text = location.hash.slice(1);
  try {
    text = decodeURIComponent(text);
  } catch {
    // not percent-encoded
  }
  const code = codeOf(text);
  if (!code) return;
  history.replaceState(null, "", location.pathname + location.search);
  if (navigator.onLine) go(cfg.page + "?code=" + encodeURIComponent(code), true);
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

for (const f of document.querySelectorAll("form")) {
  if (f !== form) f.addEventListener("submit", () => (moving = true));
}
for (const a of document.querySelectorAll("a[data-keep]")) a.addEventListener("click", () => (moving = true));

// Leaving the page checks out of the check-in in progress.
window.addEventListener("pagehide", () => {
  const cur = current();
  if (moving || !cur) return;
  const at = nowSecs();
  if (!navigator.onLine) {
    queue.checkOut({ account: cfg.account, client_id: cur.client_id, t_in: cur.t_in, t_out: at });
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
setInterval(() => {
  if (queue.size(cfg.account) > 0) send();
}, FLUSH_EVERY_MS);

showQueue();
if (queue.size(cfg.account) > 0) send();
