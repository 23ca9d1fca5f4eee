// The checkpoint's service worker: it keeps the page, its script and style
// and the region's trust list, so that the page opens and verifies passes
// with no network. The server puts before this file a line declaring
//
//   MANIFEST = {version, cache, page, trust_list, assets: [content-hashed URLs]}
//
// where trust_list is the path and query of the list the page reads, and
// the code every worker shares (internal/assets/worker.js: CACHE,
// cacheFirst, withTimeout, dropping older versions' copies).
//
// The page and the trust list are fetched from the network first, and the
// copy kept is renewed on every success; when the network fails (or takes
// too long) the copy answers. Assets never change under their URL, so the
// copy answers first. Nothing else is touched: passages are POSTed by the
// page itself, which keeps them until the server has them.
/* global MANIFEST, CACHE, cacheFirst, withTimeout */
const NETWORK_TIMEOUT_MS = 5000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(MANIFEST.assets);
      // The page needs the operator's session; a worker installed without one
      // would keep a sign-in page, so the install fails and is tried again.
      for (const url of [MANIFEST.page, MANIFEST.trust_list]) {
        const res = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        if (!res.ok || res.redirected) throw new Error(`precache ${url}: ${res.status}`);
        await cache.put(url, res);
      }
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
    event.respondWith(networkFirst(req, MANIFEST.page, true));
  } else if (url.pathname + url.search === MANIFEST.trust_list) {
    event.respondWith(networkFirst(req, MANIFEST.trust_list, false));
  }
});

async function networkFirst(req, key, isPage) {
  const cache = await caches.open(CACHE);
  let res = null;
  try {
    res = await withTimeout(fetch(req), NETWORK_TIMEOUT_MS);
  } catch {
    res = null; // offline, or the server did not answer in time
  }
  if (res && res.ok && !res.redirected && res.type === "basic") {
    const type = res.headers.get("Content-Type") || "";
    if (!isPage || type.startsWith("text/html")) await cache.put(key, res.clone());
    return res;
  }
  // A redirect (to sign in) or a client error goes to the page as it is.
  if (res && res.status > 0 && res.status < 500) return res;
  if (res && res.type === "opaqueredirect") return res;
  const hit = await cache.match(key);
  if (hit) return hit;
  if (res) return res;
  if (isPage) {
    return new Response(
      '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
        "<title>Offline</title><p>离线：请联网后打开一次本页。<br>Offline: open this page once while online.</p>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
    );
  }
  return Response.error();
}
