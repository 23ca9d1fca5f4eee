// Checks that check-ins kept on the phone reach the server exactly once:
// through lost answers, a network that is down, a server shedding load, a
// second resident on the same phone, refused check-ins, and check-outs of
// check-ins still waiting.
import { test } from "node:test";
import assert from "node:assert/strict";

import { CheckInQueue, Family, MAX_BATCH, MAX_REFUSED, RefusedCheckIns, codeOf, flush } from "../src/queue.js";

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
  removeItem(k) {
    this.m.delete(k);
  }
}

const reply = (status, body, headers = {}) => ({
  ok: status >= 200 && status < 300,
  status,
  headers: { get: (k) => headers[k] ?? null },
  json: async () => body,
});

// A fake API: check-ins kept by (t_in, client_id), like the store.
function fakeServer() {
  const s = { kept: new Map(), checkouts: [], posts: 0, down: false, loseNextAnswer: false, shed: 0, refuse: new Set() };
  s.fetch = async (url, opts) => {
    if (s.down) throw new TypeError("Failed to fetch");
    s.posts++;
    assert.equal(opts.headers["X-CSRF-Token"], "tok");
    if (s.shed > 0) {
      s.shed--;
      return reply(503, { detail: "busy" }, { "Retry-After": "2" });
    }
    const body = JSON.parse(opts.body);
    const m = /^\/api\/v1\/checkins\/([^/]+)\/checkout$/.exec(url);
    if (m) {
      const key = `${body.t_in}/${decodeURIComponent(m[1])}`;
      if (!s.kept.has(key)) return reply(404, { detail: "no such check-in" });
      s.checkouts.push({ key, t_out: body.t_out });
      return reply(200, { checked_out: 1 });
    }
    assert.equal(url, "/api/v1/checkins");
    assert.ok(body.checkins.length <= MAX_BATCH);
    const results = body.checkins.map((c) => {
      assert.equal(c.account, undefined, "local fields are not sent");
      assert.equal(c.kind, undefined, "local fields are not sent");
      assert.equal(c.label, undefined, "local fields are not sent");
      if (s.refuse.has(c.client_id)) return { client_id: c.client_id, t_in: c.t_in, status: "refused", reason: "bad_signature", message: "forged" };
      const key = `${c.t_in}/${c.client_id}`;
      const dup = s.kept.has(key);
      if (!dup) s.kept.set(key, c);
      return { client_id: c.client_id, t_in: c.t_in, status: dup ? "duplicate" : "accepted" };
    });
    if (s.loseNextAnswer) {
      s.loseNextAnswer = false;
      throw new TypeError("connection reset"); // stored, but the answer never arrived
    }
    return reply(200, { results });
  };
  return s;
}

let seq = 0;
function item(account = 7) {
  seq++;
  return {
    account,
    client_id: `00000000-0000-4000-8000-${String(seq).padStart(12, "0")}`,
    code: "OBP1:X",
    t_in: 1777600000 + seq,
    label: `Shop · place no. ${seq}`,
  };
}

function setup(n, server = fakeServer()) {
  const storage = new MemoryStorage();
  const queue = new CheckInQueue(storage);
  const refusals = new RefusedCheckIns(storage);
  for (let i = 0; i < n; i++) queue.add(item());
  const run = (account = 7) => flush({ queue, refusals, fetch: server.fetch, api: "/api/v1/checkins", csrf: "tok", account });
  return { queue, refusals, server, run };
}

test("codeOf finds the place code in a bare scan or a check-in URL", () => {
  assert.equal(codeOf("  OBP1:ABC "), "OBP1:ABC");
  assert.equal(codeOf("https://x.example/checkin#OBP1:A%20B"), "OBP1:A B");
  assert.equal(codeOf("https://x.example/checkin#OBP1:A%ZZ"), "OBP1:A%ZZ");
  assert.equal(codeOf("https://x.example/checkin?code=OBP1%3AAB"), "OBP1:AB");
  assert.equal(codeOf("OB1:a pass"), null);
  assert.equal(codeOf("https://example.com/"), null);
  assert.equal(codeOf(undefined), null);
});

test("nothing to send touches no network", async () => {
  const { run, server } = setup(0);
  server.down = true;
  assert.equal((await run()).state, "idle");
});

test("offline: everything stays queued, then goes exactly once", async () => {
  const { queue, server, run } = setup(3);
  server.down = true;
  assert.equal((await run()).state, "offline");
  assert.equal(queue.size(), 3);
  server.down = false;
  const res = await run();
  assert.equal(res.state, "ok");
  assert.equal(res.sent, 3);
  assert.equal(queue.size(), 0);
  assert.equal(server.kept.size, 3);
});

test("an answer lost after the server stored the batch: sent again, stored once", async () => {
  const { queue, server, run } = setup(2);
  server.loseNextAnswer = true;
  assert.equal((await run()).state, "offline");
  assert.equal(queue.size(), 2);
  assert.equal((await run()).state, "ok");
  assert.equal(queue.size(), 0);
  assert.equal(server.kept.size, 2);
});

test("a server shedding load: kept, with the time to come back", async () => {
  const { queue, server, run } = setup(2);
  server.shed = 1;
  const res = await run();
  assert.equal(res.state, "busy");
  assert.equal(res.retryAfter, 2);
  assert.equal(queue.size(), 2);
  assert.equal((await run()).state, "ok");
  assert.equal(server.kept.size, 2);
});

test("more than a batch goes in several", async () => {
  const { queue, server, run } = setup(MAX_BATCH + 3);
  const res = await run();
  assert.equal(res.sent, MAX_BATCH + 3);
  assert.equal(server.posts, 2);
  assert.equal(queue.size(), 0);
});

test("another resident's check-ins wait for them", async () => {
  const { queue, server, run } = setup(1);
  queue.add(item(8));
  assert.equal((await run(7)).sent, 1);
  assert.equal(queue.size(8), 1);
  assert.equal((await run(8)).sent, 1);
  assert.equal(server.kept.size, 2);
});

test("refused check-ins leave the queue, with the reason, and are kept to show until dismissed", async () => {
  const { queue, refusals, server, run } = setup(2);
  const bad = queue.list()[0];
  server.refuse.add(bad.client_id);
  const res = await run();
  assert.deepEqual(res.refused, [{ client_id: bad.client_id, reason: "bad_signature", message: "forged" }]);
  assert.equal(res.sent, 1);
  assert.equal(queue.size(), 0);
  const kept = [{ account: 7, client_id: bad.client_id, t_in: bad.t_in, label: bad.label, reason: "bad_signature", message: "forged" }];
  assert.deepEqual(refusals.list(7), kept);
  assert.deepEqual(refusals.list(8), [], "another resident's phone shows them nothing");
  // Sent again (an answer lost, say), still one refusal to show.
  queue.add(bad);
  await run();
  assert.deepEqual(refusals.list(7), kept);
  refusals.dismiss(7);
  assert.deepEqual(refusals.list(7), []);
});

test("refusals kept are bounded, and one resident's dismissal leaves another's", () => {
  const storage = new MemoryStorage();
  const refusals = new RefusedCheckIns(storage);
  refusals.add({ account: 8, client_id: "other", t_in: 1, label: "", reason: "bad_signature", message: "" });
  for (let i = 0; i < MAX_REFUSED + 5; i++) {
    refusals.add({ account: 7, client_id: `c${i}`, t_in: i, label: "", reason: "bad_signature", message: "" });
  }
  assert.equal(refusals.all().length, MAX_REFUSED);
  assert.equal(refusals.list(7).at(-1).client_id, `c${MAX_REFUSED + 4}`, "the newest kept");
  refusals.add({ account: 8, client_id: "other 2", t_in: 2, label: "", reason: "unknown_key", message: "" });
  refusals.dismiss(7);
  assert.deepEqual(refusals.all().map((e) => e.client_id), ["other 2"]);
  storage.setItem("outbreak.checkin.refused.v1", "{not json");
  assert.deepEqual(refusals.list(8), []);
});

test("a check-out of a check-in still waiting rides on it; of one sent, goes after", async () => {
  const { queue, server, run } = setup(0);
  const a = item();
  const b = item();
  queue.add(a);
  queue.checkOut({ account: 7, client_id: a.client_id, t_in: a.t_in, t_out: a.t_in + 600 });
  assert.equal(queue.size(), 1, "merged into the waiting check-in");
  assert.equal(queue.list()[0].t_out, a.t_in + 600);
  queue.add(b);
  await run();
  server.kept.set(`${b.t_in}/${b.client_id}`, b);
  queue.checkOut({ account: 7, client_id: b.client_id, t_in: b.t_in, t_out: b.t_in + 60 });
  queue.checkOut({ account: 7, client_id: b.client_id, t_in: b.t_in, t_out: b.t_in + 90 }); // once
  assert.equal(queue.size(), 1);
  server.down = true;
  assert.equal((await run()).state, "offline");
  server.down = false;
  assert.equal((await run()).state, "ok");
  assert.deepEqual(server.checkouts, [{ key: `${b.t_in}/${b.client_id}`, t_out: b.t_in + 60 }]);
  assert.equal(server.kept.get(`${a.t_in}/${a.client_id}`).t_out, a.t_in + 600);
  assert.equal(queue.size(), 0);
});

test("a damaged queue in storage reads as empty", () => {
  const storage = new MemoryStorage();
  storage.setItem("outbreak.checkin.queue.v1", "{not json");
  assert.deepEqual(new CheckInQueue(storage).list(), []);
  storage.setItem("outbreak.checkin.queue.v1", '[1, null, {"client_id": "x"}]');
  assert.equal(new CheckInQueue(storage).size(), 1);
});

test("the family kept for the offline copy is one account's, and only theirs", () => {
  const storage = new MemoryStorage();
  const fam = new Family(storage);
  assert.deepEqual(fam.of(7), []);
  fam.save(7, [
    { id: 11, name: "Li Xiaoming", born: "2015-01-01" },
    { id: 0, name: "nobody" },
    { id: 12, name: 5 },
    { id: 13, name: "Li Xiaohong" },
  ]);
  // Only what the offline copy needs: ids and names, valid ones.
  assert.deepEqual(fam.of(7), [
    { id: 11, name: "Li Xiaoming" },
    { id: 13, name: "Li Xiaohong" },
  ]);
  assert.equal(storage.getItem("outbreak.checkin.family.v1").includes("2015"), false);
  // Another account on the phone: not theirs to see.
  assert.deepEqual(fam.of(8), []);
  assert.deepEqual(fam.of(0), []);
  // The page of another account replaces them; an account without
  // dependents leaves none on the phone.
  fam.save(8, [{ id: 21, name: "Wang Fang" }]);
  assert.deepEqual(fam.of(7), []);
  assert.deepEqual(fam.of(8), [{ id: 21, name: "Wang Fang" }]);
  fam.save(8, []);
  assert.equal(storage.getItem("outbreak.checkin.family.v1"), null);
  storage.setItem("outbreak.checkin.family.v1", "{not json");
  assert.deepEqual(fam.of(8), []);
});
