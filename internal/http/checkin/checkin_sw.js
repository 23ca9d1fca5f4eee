// The check-in page's service worker: a resident who scans a poster with no
// network (its URL, /checkin#OBP1:…) still gets a page that reads the
// poster's code, keeps the check-in on the phone and sends it later. The
// server puts before this file a line declaring
//
//   MANIFEST = {version, cache, page, shell, assets: [content-hashed URLs]}
//
// and the code every worker shares (internal/assets/worker.js: CACHE,
// cacheFirst, withTimeout, dropping older versions' copies).
//
// It keeps three things, none of them anyone's data: the page's offline
// copy (the shell, GET /checkin/offline: the check-in page without the
// resident's name, family, check-in in progress or session token), and the
// script and stylesheet it uses. The real page (/checkin) always comes
// from the network and is never kept, so one account's page is never shown
// to another on a shared phone; only when the network fails, takes too
// long or the server fails does the shell answer in its place. The shell
// is refreshed after each real page, so that it speaks the resident's
// language. Everything else — the API, the check-ins — passes untouched.
/* global MANIFEST, CACHE, cacheFirst, withTimeout */
const NETWORK_TIMEOUT_MS = 8000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(MANIFEST.assets);
      const res = await fetch(MANIFEST.shell, { credentials: "same-origin", cache: "no-store" });
      if (!res.ok || res.redirected) throw new Error(`precache ${MANIFEST.shell}: ${res.status}`);
      await cache.put(MANIFEST.shell, res);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (MANIFEST.assets.includes(url.pathname)) {
    event.respondWith(cacheFirst(req, url.pathname));
  } else if (url.pathname === MANIFEST.page && req.mode === "navigate") {
    event.respondWith(page(event));
  }
});

// page answers a navigation to the check-in page: the server's page, or
// the shell when the server cannot be had. A redirect (to sign in) or a
// client error goes to the browser as it is.
async function page(event) {
  let res = null;
  try {
    res = await withTimeout(fetch(event.request), NETWORK_TIMEOUT_MS);
  } catch {
    res = null; // offline, or the server did not answer in time
  }
  if (res && (res.type === "opaqueredirect" || (res.status > 0 && res.status < 500))) {
    if (res.ok && (res.headers.get("Content-Type") || "").startsWith("text/html")) event.waitUntil(refreshShell());
    return res;
  }
  return (await shell()) ?? res ?? offline();
}

async function shell() {
  const cache = await caches.open(CACHE);
  return (await cache.match(MANIFEST.shell, { ignoreVary: true })) ?? null;
}

// refreshShell fetches the shell again: the resident may have changed
// language, and the server may have changed it.
async function refreshShell() {
  try {
    const res = await fetch(MANIFEST.shell, { credentials: "same-origin", cache: "no-cache" });
    if (res.ok && !res.redirected) await (await caches.open(CACHE)).put(MANIFEST.shell, res);
  } catch {
    // the copy kept stays
  }
}

function offline() {
  return new Response(
    '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
      "<title>Offline</title><p>离线：请联网后打开一次登记页。<br>Offline: open the check-in page once while online.</p>",
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
  );
}
