// The check-ins and check-outs a resident's phone made while the server
// could not be reached (offline, or shedding load), kept in the phone's
// storage until the server has them. Each check-in carries the random id
// and the time the page gave it; the server stores a check-in once however
// often it is sent, so an entry leaves the queue only after the server has
// answered for it, and is sent again after any failure.

export const QUEUE_KEY = "outbreak.checkin.queue.v1";
export const REFUSED_KEY = "outbreak.checkin.refused.v1";
// The server's clock less the phone's, as the page last saw it: the offline
// copy of the page dates check-ins by it.
export const CLOCK_KEY = "outbreak.checkin.clock.v1";
// The family members the signed-in resident may check in, as the real page
// last listed them: the offline copy offers them too.
export const FAMILY_KEY = "outbreak.checkin.family.v1";
export const MAX_BATCH = 500; // the API's limit
export const MAX_REFUSED = 50; // refusals kept to show, per phone
export const PREFIX = "OBP1:";

/** Returns the place code in the text of a scan: the code, or a check-in URL holding it; null for anything else. */
export function codeOf(text) {
  const s = String(text ?? "").trim();
  if (s.startsWith(PREFIX)) return s;
  const hash = s.indexOf("#");
  if (hash >= 0) {
    const frag = s.slice(hash + 1);
    try {
      const dec = decodeURIComponent(frag);
      if (dec.startsWith(PREFIX)) return dec;
    } catch {
      // not percent-encoded: taken as it is below
    }
    if (frag.startsWith(PREFIX)) return frag;
  }
  try {
    const c = new URL(s).searchParams.get("code");
    if (c && c.startsWith(PREFIX)) return c;
  } catch {
    // not a URL
  }
  return null;
}

/** The queue, in storage (localStorage): check-ins, and check-outs of check-ins already sent. */
export class CheckInQueue {
  constructor(storage, key = QUEUE_KEY) {
    this.storage = storage;
    this.key = key;
  }

  /** Returns every entry, oldest first. */
  list() {
    try {
      const v = JSON.parse(this.storage.getItem(this.key) ?? "[]");
      return Array.isArray(v) ? v.filter((e) => e && typeof e === "object" && typeof e.client_id === "string") : [];
    } catch {
      return [];
    }
  }

  save(all) {
    this.storage.setItem(this.key, JSON.stringify(all));
  }

  /** Counts the entries of account (all when undefined). */
  size(account) {
    return this.list().filter((e) => account === undefined || e.account === account).length;
  }

  /** Adds check-ins ({account, client_id, code | place_id, t_in, ...}); throws when storage is full. */
  add(...items) {
    const all = this.list();
    for (const it of items) {
      if (!all.some((e) => e.kind !== "checkout" && e.client_id === it.client_id && e.t_in === it.t_in)) all.push({ ...it, kind: "checkin" });
    }
    this.save(all);
  }

  /**
   * Records a check-out: on the check-in itself while it waits here, else
   * as a check-out to send after the check-ins.
   */
  checkOut({ account, client_id, t_in, t_out }) {
    const all = this.list();
    const waiting = all.find((e) => e.kind !== "checkout" && e.client_id === client_id && e.t_in === t_in);
    if (waiting) {
      waiting.t_out = Math.max(t_out, t_in + 1);
    } else if (!all.some((e) => e.kind === "checkout" && e.client_id === client_id && e.t_in === t_in)) {
      all.push({ kind: "checkout", account, client_id, t_in, t_out: Math.max(t_out, t_in + 1) });
    }
    this.save(all);
  }

  /** Removes the entries of kind with these client ids. */
  remove(kind, ids) {
    const gone = new Set(ids);
    this.save(this.list().filter((e) => (e.kind === "checkout") !== (kind === "checkout") || !gone.has(e.client_id)));
  }
}

/**
 * The family members (dependents: {id, name}) one account may check in,
 * kept for the offline copy of the page, which holds no one's data of its
 * own. One account's at a time: the page of another account replaces
 * them, and signing out clears the phone's storage.
 */
export class Family {
  constructor(storage, key = FAMILY_KEY) {
    this.storage = storage;
    this.key = key;
  }

  /** Keeps people ({id, name}) as account's family; none forgets them. */
  save(account, people) {
    const list = (Array.isArray(people) ? people : []).filter((p) => Number.isSafeInteger(p?.id) && p.id > 0 && typeof p.name === "string");
    if (!account || list.length === 0) {
      this.storage.removeItem(this.key);
      return;
    }
    this.storage.setItem(this.key, JSON.stringify({ account, people: list.map(({ id, name }) => ({ id, name })) }));
  }

  /** Returns account's family, or none when the phone keeps another account's. */
  of(account) {
    try {
      const v = JSON.parse(this.storage.getItem(this.key) ?? "null");
      if (!account || v?.account !== account || !Array.isArray(v.people)) return [];
      return v.people.filter((p) => Number.isSafeInteger(p?.id) && p.id > 0 && typeof p.name === "string");
    } catch {
      return [];
    }
  }
}

/**
 * The check-ins the server refused, kept on the phone until the resident
 * has seen them and dismissed them: a check-in kept offline and refused
 * later (a forged poster, say) is shown as refused, never silently lost.
 * Entries are {account, client_id, t_in, label, reason, message}.
 */
export class RefusedCheckIns {
  constructor(storage, key = REFUSED_KEY) {
    this.storage = storage;
    this.key = key;
  }

  /** Returns the refusals of account, oldest first. */
  list(account) {
    try {
      const v = JSON.parse(this.storage.getItem(this.key) ?? "[]");
      return Array.isArray(v) ? v.filter((e) => e && typeof e === "object" && e.account === account) : [];
    } catch {
      return [];
    }
  }

  all() {
    try {
      const v = JSON.parse(this.storage.getItem(this.key) ?? "[]");
      return Array.isArray(v) ? v.filter((e) => e && typeof e === "object") : [];
    } catch {
      return [];
    }
  }

  /** Adds refusals, keeping the newest MAX_REFUSED; a refusal already kept is kept once. */
  add(...entries) {
    const all = this.all();
    for (const e of entries) {
      if (!all.some((x) => x.client_id === e.client_id && x.t_in === e.t_in)) all.push(e);
    }
    this.storage.setItem(this.key, JSON.stringify(all.slice(-MAX_REFUSED)));
  }

  /** Forgets the refusals of account: the resident has seen them. */
  dismiss(account) {
    this.storage.setItem(this.key, JSON.stringify(this.all().filter((e) => e.account !== account)));
  }
}

// The fields of a check-in the API takes; the others (account, kind, the
// place's label) are this phone's, and the API refuses unknown fields.
const WIRE_FIELDS = ["client_id", "code", "place_id", "t_in", "t_out", "carriage", "seat", "for"];

// wire is a check-in as the API takes it: without the local fields.
function wire(e) {
  const out = {};
  for (const k of WIRE_FIELDS) if (e[k] !== undefined) out[k] = e[k];
  return out;
}

function retryAfter(r) {
  const s = Number(r.headers?.get?.("Retry-After"));
  return Number.isFinite(s) && s > 0 ? s : 5;
}

/**
 * Sends the queued entries of account: check-ins in batches to api
 * (POST /api/v1/checkins), then check-outs (POST api/{id}/checkout).
 * Returns {state, sent, refused: [{client_id, reason, message}],
 * retryAfter}: state is "idle" (nothing to send), "ok", "offline", "busy"
 * (429 or 503: retry after retryAfter seconds), "signed_out" or "error".
 * A refused check-in leaves the queue for refusals (a RefusedCheckIns),
 * with its label, for the page to show.
 */
export async function flush({ queue, fetch, api, csrf, account, refusals }) {
  const out = { state: "ok", sent: 0, refused: [], retryAfter: 0 };
  const mine = () => queue.list().filter((e) => e.account === account);
  if (mine().length === 0) return { ...out, state: "idle" };
  const post = (url, body) =>
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
  const failed = (r) => {
    if (r.status === 429 || r.status === 503) return { ...out, state: "busy", retryAfter: retryAfter(r) };
    if (r.status === 401 || r.status === 403) return { ...out, state: "signed_out" };
    return { ...out, state: "error", status: r.status };
  };
  for (;;) {
    const batch = mine()
      .filter((e) => e.kind !== "checkout")
      .slice(0, MAX_BATCH);
    if (batch.length === 0) break;
    let r;
    try {
      r = await post(api, { checkins: batch.map(wire) });
    } catch {
      return { ...out, state: "offline" };
    }
    if (!r.ok) return failed(r);
    const body = await r.json();
    const answered = [];
    const kept = [];
    for (const res of body.results ?? []) {
      answered.push(res.client_id);
      if (res.status === "refused") {
        out.refused.push({ client_id: res.client_id, reason: res.reason, message: res.message });
        const e = batch.find((x) => x.client_id === res.client_id) ?? {};
        kept.push({ account, client_id: res.client_id, t_in: e.t_in ?? res.t_in, label: e.label ?? "", reason: res.reason ?? "", message: res.message ?? "" });
      } else out.sent++;
    }
    if (answered.length === 0) return { ...out, state: "error", status: r.status };
    if (refusals && kept.length > 0) {
      try {
        refusals.add(...kept);
      } catch {
        // storage full: out.refused still says so, on the page as it is
      }
    }
    queue.remove("checkin", answered);
  }
  for (const co of mine().filter((e) => e.kind === "checkout")) {
    let r;
    try {
      r = await post(`${api}/${encodeURIComponent(co.client_id)}/checkout`, { t_in: co.t_in, t_out: co.t_out });
    } catch {
      return { ...out, state: "offline" };
    }
    // 404: the check-in is gone (refused, or purged): nothing to end.
    if (!r.ok && r.status !== 404 && r.status !== 422) return failed(r);
    queue.remove("checkout", [co.client_id]);
    out.sent++;
  }
  return out;
}
