// The passages a checkpoint records, kept in the phone's storage until the
// server has them. Each passage gets a random id when it is recorded; the
// server keeps a passage once however often it is sent, so a passage is
// removed from the queue only after the server has answered for it, and
// sent again after any failure: nothing is lost, nothing counted twice.

export const QUEUE_KEY = "outbreak.checkpoint.passages.v1";
export const REJECTED_KEY = "outbreak.checkpoint.rejected.v1";
export const MAX_BATCH = 200;

/** The queue of passages not yet acknowledged by the server, in storage (localStorage). */
export class PassageQueue {
  constructor(storage, key = QUEUE_KEY) {
    this.storage = storage;
    this.key = key;
  }

  /** Returns every queued passage, oldest first. */
  list() {
    try {
      const v = JSON.parse(this.storage.getItem(this.key) ?? "[]");
      return Array.isArray(v) ? v : [];
    } catch {
      return [];
    }
  }

  /** Counts the passages queued by account (all when account is undefined). */
  size(account) {
    return this.list().filter((p) => account === undefined || p.account === account).length;
  }

  /** Adds a passage; it throws when storage is full, so the caller can say so. */
  add(p) {
    const all = this.list();
    if (!all.some((x) => x.client_id === p.client_id)) all.push(p);
    this.storage.setItem(this.key, JSON.stringify(all));
  }

  /** Removes the passages with these client ids. */
  remove(ids) {
    const gone = new Set(ids);
    this.storage.setItem(this.key, JSON.stringify(this.list().filter((p) => !gone.has(p.client_id))));
  }

  /** Drops the place of the passages with these client ids: they stay passages, without a check-in. */
  dropPlace(ids) {
    const which = new Set(ids);
    this.storage.setItem(
      this.key,
      JSON.stringify(
        this.list().map((p) => {
          if (!which.has(p.client_id)) return p;
          const { place_id: _, ...rest } = p;
          return rest;
        }),
      ),
    );
  }
}

/**
 * Returns the passage recording a verification result: the claims of a
 * pass only when its signature verified, and the place the checkpoint
 * stands at when one is chosen (an accepted passage there counts as the
 * holder's check-in).
 */
export function passageOf(result, { clientID, seenAt, account, placeID }) {
  const p = {
    client_id: clientID,
    seen_at: new Date(seenAt).toISOString(),
    result: result.ok ? "accepted" : "refused",
    reason: result.ok ? "" : result.reason,
    holder: "",
    region: "",
    colour: "",
    kid: result.kid ?? "",
    account,
  };
  if (result.claims) {
    p.holder = result.claims.holder;
    p.region = result.claims.region;
    p.colour = result.claims.colour;
  }
  if (placeID) p.place_id = placeID;
  return p;
}

// wire is a passage as the server takes it: without the local account tag.
function wire({ account, ...p }) {
  return p;
}

/**
 * Sends the queued passages of the signed-in operator. It first asks
 * sessionURL who is signed in and for the current CSRF token (the page may
 * be a copy kept offline), then posts batches to passagesURL. Returns
 * {state, sent, added, duplicates, rejected}: state is "idle" (nothing
 * to send), "ok", "offline", "signed_out" or "error".
 */
export async function flush({ queue, rejected, fetch, sessionURL, passagesURL }) {
  const out = { state: "ok", sent: 0, added: 0, duplicates: 0, rejected: 0 };
  if (queue.size() === 0) return { ...out, state: "idle" };
  let session;
  try {
    const r = await fetch(sessionURL, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
    if (r.status === 401 || r.status === 403 || r.redirected) return { ...out, state: "signed_out" };
    if (!r.ok) return { ...out, state: "error", status: r.status };
    session = await r.json();
  } catch {
    return { ...out, state: "offline" };
  }
  let csrfRetried = false;
  for (;;) {
    const batch = queue.list().filter((p) => p.account === session.account_id).slice(0, MAX_BATCH);
    if (batch.length === 0) return out;
    let r;
    try {
      r = await fetch(passagesURL, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": session.csrf_token },
        body: JSON.stringify({ passages: batch.map(wire) }),
      });
    } catch {
      return { ...out, state: "offline" };
    }
    if (r.ok) {
      const body = await r.json();
      queue.remove(batch.map((p) => p.client_id));
      out.sent += batch.length;
      out.added += body.new;
      out.duplicates += body.duplicates;
      continue;
    }
    if (r.status === 401) return { ...out, state: "signed_out" };
    if (r.status === 403 && !csrfRetried) {
      // The session changed since the token was read: read it again once.
      csrfRetried = true;
      try {
        const s = await fetch(sessionURL, { credentials: "same-origin", cache: "no-store" });
        if (!s.ok) return { ...out, state: "signed_out" };
        session = await s.json();
      } catch {
        return { ...out, state: "offline" };
      }
      continue;
    }
    if (r.status === 422) {
      // Passages the server will never take (seen more than a week ago,
      // say): set them aside, counted, and send the rest.
      const body = await r.json().catch(() => null);
      const bad = new Set();
      const placeless = new Set();
      for (const e of body?.errors ?? []) {
        const m = /^passages\[(\d+)\]\.(\w+)/.exec(e.field ?? "");
        if (!m || !batch[Number(m[1])]) continue;
        if (m[2] === "place_id") placeless.add(batch[Number(m[1])]);
        else bad.add(batch[Number(m[1])]);
      }
      for (const p of bad) placeless.delete(p);
      if (placeless.size > 0) {
        // A place this checkpoint may no longer use: the passages stay, without it.
        queue.dropPlace([...placeless].map((p) => p.client_id));
        if (bad.size === 0) continue;
      }
      if (bad.size === 0) return { ...out, state: "error", status: r.status };
      if (rejected) rejected.add(bad.size);
      queue.remove([...bad].map((p) => p.client_id));
      out.rejected += bad.size;
      continue;
    }
    return { ...out, state: "error", status: r.status };
  }
}

/** Counts passages the server refused for good, in storage. */
export class RejectedCount {
  constructor(storage, key = REJECTED_KEY) {
    this.storage = storage;
    this.key = key;
  }

  get() {
    return Number(this.storage.getItem(this.key)) || 0;
  }

  add(n) {
    this.storage.setItem(this.key, String(this.get() + n));
  }
}
