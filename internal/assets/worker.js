// What the platform's service workers share. The server serves each worker
// as a line declaring
//
//   MANIFEST = {version, cache, assets: [content-hashed URLs], ...}
//
// then this file, then the worker's own script.
/* global MANIFEST */

const CACHE = MANIFEST.cache + MANIFEST.version;

// A new version drops the copies its predecessors kept.
self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) {
        if (key.startsWith(MANIFEST.cache) && key !== CACHE) await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

// cacheFirst answers from the copy kept under key, fetching and keeping it
// when there is none: for assets, which never change under their URL.
async function cacheFirst(req, key) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) await cache.put(key, res.clone());
  return res;
}

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

