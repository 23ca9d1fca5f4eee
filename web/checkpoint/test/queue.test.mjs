// Checks that queued passages reach a server exactly once: through lost
// answers, dropped connections, stale CSRF tokens, a second operator on the
// same phone, and passages the server refuses for good.
import { test } from "node:test";
import assert from "node:assert/strict";

import { MAX_BATCH, PassageQueue, RejectedCount, flush, passageOf } from "../src/queue.js";

class MemoryStorage {
  constructor() {
    this.m = new Map();
  }
  getItem(k) {
    return this.m.has(k) ? this.m.get(k) : null;
  }
  setItem(k, v) {
    this.m.set(k, String(v));
  }
}

const json = (status, body) => ({
  ok: status >= 200 && status < 300,
  status,
  redirected: false,
  json: async () => body,
});

// A fake server: one signed-in account, passages kept by client id.
function fakeServer({ account = 7, csrf = "tok" } = {}) {
  const s = {
    account,
    csrf,
    kept: new Map(),
    posts: 0,
    down: false,
    loseNextAnswer: false,
    refuse: new Set(), // client ids answered with 422
    badPlaces: new Set(), // place ids answered with 422 on place_id
  };
  s.fetch = async (url, opts = {}) => {
    if (s.down) throw new TypeError("Failed to fetch");
    if (url === "/session") return json(200, { csrf_token: s.csrf, account_id: s.account });
    assert.equal(url, "/passages");
    s.posts++;
    if (opts.headers["X-CSRF-Token"] !== s.csrf) return json(403, { detail: "Missing or wrong X-CSRF-Token header." });
    const { passages } = JSON.parse(opts.body);
    assert.ok(passages.length <= MAX_BATCH);
    const errors = [];
    passages.forEach((p, i) => {
      assert.equal(p.account, undefined, "the local account tag is not sent");
      if (s.refuse.has(p.client_id)) errors.push({ field: `passages[${i}].seen_at`, code: "invalid" });
      if (p.place_id && s.badPlaces.has(p.place_id)) errors.push({ field: `passages[${i}].place_id`, code: "checkpoint.place" });
    });
    if (errors.length) return json(422, { errors });
    let added = 0;
    for (const p of passages) {
      if (!s.kept.has(p.client_id)) {
        s.kept.set(p.client_id, p);
        added++;
      }
    }
    if (s.loseNextAnswer) {
      s.loseNextAnswer = false;
      throw new TypeError("connection reset"); // recorded, but the answer never arrived
    }
    return json(200, { received: passages.length, new: added, duplicates: passages.length - added });
  };
  return s;
}

let seq = 0;
function passage(account = 7) {
  seq++;
  const id = `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`;
  return passageOf(
    { ok: true, kid: "AAAAAAAAAAA", claims: { holder: "MFRGGZDFMZTWQ2LK", region: "4201", colour: "green" } },
    { clientID: id, seenAt: Date.UTC(2026, 4, 1, 8, 0, 0), account },
  );
}

function setup(n, server = fakeServer()) {
  const storage = new MemoryStorage();
  const queue = new PassageQueue(storage);
  const rejected = new RejectedCount(storage);
  for (let i = 0; i < n; i++) queue.add(passage());
  const run = () => flush({ queue, rejected, fetch: server.fetch, sessionURL: "/session", passagesURL: "/passages" });
  return { storage, queue, rejected, server, run };
}

test("passageOf keeps the claims of verified passes only", () => {
  const refused = passageOf({ ok: false, reason: "bad_signature", kid: "AAAAAAAAAAA" }, { clientID: "x", seenAt: 0, account: 1 });
  assert.deepEqual(refused, {
    client_id: "x",
    seen_at: "1970-01-01T00:00:00.000Z",
    result: "refused",
    reason: "bad_signature",
    holder: "",
    region: "",
    colour: "",
    kid: "AAAAAAAAAAA",
    account: 1,
  });
  const p = passage();
  assert.equal(p.result, "accepted");
  assert.equal(p.colour, "green");
});

test("nothing to send touches no network", async () => {
  const { run, server } = setup(0);
  server.down = true;
  assert.equal((await run()).state, "idle");
});

test("offline: everything stays queued, then goes exactly once", async () => {
  const { queue, run, server } = setup(3);
  server.down = true;
  assert.equal((await run()).state, "offline");
  assert.equal(queue.size(), 3);
  server.down = false;
  const res = await run();
  assert.equal(res.state, "ok");
  assert.equal(res.added, 3);
  assert.equal(queue.size(), 0);
  assert.equal(server.kept.size, 3);
});

test("an answer lost after the server kept the batch: sent again, counted once", async () => {
  const { queue, run, server } = setup(2);
  server.loseNextAnswer = true;
  assert.equal((await run()).state, "offline");
  assert.equal(queue.size(), 2, "not acknowledged, so still queued");
  queue.add(passage());
  const res = await run();
  assert.deepEqual([res.state, res.sent, res.added, res.duplicates], ["ok", 3, 1, 2]);
  assert.equal(server.kept.size, 3);
  assert.equal(queue.size(), 0);
});

test("more than a batch goes in several", async () => {
  const { queue, run, server } = setup(2 * MAX_BATCH + 5);
  const res = await run();
  assert.equal(res.added, 2 * MAX_BATCH + 5);
  assert.equal(server.posts, 3);
  assert.equal(queue.size(), 0);
});

test("a stale CSRF token is read again once", async () => {
  const { run, server, queue } = setup(1);
  const fetch = server.fetch;
  let first = true;
  server.fetch = async (url, opts) => {
    if (url === "/session" && first) {
      first = false;
      return json(200, { csrf_token: "stale", account_id: server.account });
    }
    return fetch(url, opts);
  };
  const res = await flush({ queue, fetch: server.fetch, sessionURL: "/session", passagesURL: "/passages" });
  assert.equal(res.state, "ok");
  assert.equal(server.kept.size, 1);
  assert.ok(run);
});

test("passages of another operator wait for them", async () => {
  const server = fakeServer({ account: 8 });
  const { queue, run } = setup(2, server);
  queue.add(passage(8));
  const res = await run();
  assert.equal(res.added, 1);
  assert.equal(queue.size(), 2);
  assert.equal(queue.size(7), 2);
});

test("a signed-out session keeps the queue", async () => {
  const { queue, server } = setup(2);
  server.fetch = async () => json(401, {});
  const res = await flush({ queue, fetch: server.fetch, sessionURL: "/session", passagesURL: "/passages" });
  assert.equal(res.state, "signed_out");
  assert.equal(queue.size(), 2);
});

test("passages the server refuses for good are set aside and counted; the rest go", async () => {
  const { queue, rejected, run, server } = setup(4);
  const bad = queue.list()[1].client_id;
  server.refuse.add(bad);
  const res = await run();
  assert.deepEqual([res.state, res.added, res.rejected], ["ok", 3, 1]);
  assert.equal(rejected.get(), 1);
  assert.equal(queue.size(), 0);
  assert.ok(!server.kept.has(bad));
});

test("a damaged queue in storage reads as empty", () => {
  const storage = new MemoryStorage();
  storage.setItem("outbreak.checkpoint.passages.v1", "{not json");
  assert.deepEqual(new PassageQueue(storage).list(), []);
});

test("a passage carries the checkpoint's place only when one is chosen", () => {
  const ok = { ok: true, kid: "AAAAAAAAAAA", claims: { holder: "MFRGGZDFMZTWQ2LK", region: "4201", colour: "green" } };
  assert.equal(passageOf(ok, { clientID: "a", seenAt: 0, account: 1, placeID: 42 }).place_id, 42);
  assert.equal("place_id" in passageOf(ok, { clientID: "b", seenAt: 0, account: 1 }), false);
});

test("passages at a place the server refuses go without it, none lost or set aside", async () => {
  const { queue, rejected, server, run } = setup(0);
  const at = (id, placeID) => ({ ...passage(), client_id: id, place_id: placeID });
  queue.add(at("00000000-0000-4000-8000-00000000a001", 5));
  queue.add(at("00000000-0000-4000-8000-00000000a002", 9));
  server.badPlaces.add(9);
  const res = await run();
  assert.equal(res.state, "ok");
  assert.equal(res.rejected, 0);
  assert.equal(rejected.get(), 0);
  assert.equal(queue.size(), 0);
  assert.equal(server.kept.get("00000000-0000-4000-8000-00000000a001").place_id, 5);
  assert.equal(server.kept.get("00000000-0000-4000-8000-00000000a002").place_id, undefined);
});
