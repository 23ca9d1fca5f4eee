// Checks the page's verifier against passes and trust lists made by the Go
// code, with what Go's pass.Verify answered for each
// (internal/http/checkpoint/testdata/passes.json, made by TestVerifierVectors;
// OUTBREAK_PASS_VECTORS names another file).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import {
  base45Decode,
  base45Encode,
  b64urlDecode,
  b64urlEncode,
  decodeClaims,
  loadTrustList,
  parseEnvelope,
  trustListExpired,
  trustListState,
  verifyPass,
  LEGACY_TRUST_LIST_LIFETIME,
} from "../src/verify.js";

const file =
  process.env.OUTBREAK_PASS_VECTORS || fileURLToPath(new URL("../../../internal/http/checkpoint/testdata/passes.json", import.meta.url));
const vectors = JSON.parse(readFileSync(file, "utf8"));

const ascii = (s) => Uint8Array.from(s, (c) => c.charCodeAt(0));

test("Base45: the examples of RFC 9285", () => {
  for (const [plain, encoded] of [
    ["AB", "BB8"],
    ["Hello!!", "%69 VD92EX0"],
    ["base-45", "UJCLQE7W581"],
    ["ietf!", "QED8WEX0"],
    ["", ""],
  ]) {
    assert.equal(base45Encode(ascii(plain)), encoded);
    assert.deepEqual(base45Decode(encoded), ascii(plain));
  }
});

test("Base45: refuses what is not canonical", () => {
  for (const bad of ["GGW", "0", "0000", "::", "ab", "B\u00e98", "BB8\n"]) {
    assert.throws(() => base45Decode(bad), `${JSON.stringify(bad)} should not decode`);
  }
  assert.deepEqual(base45Decode("FGW"), Uint8Array.of(0xff, 0xff));
  assert.deepEqual(base45Decode("U5"), Uint8Array.of(0xff));
});

test("base64url: strict, unpadded", () => {
  assert.deepEqual(b64urlDecode("-_8"), Uint8Array.of(0xfb, 0xff));
  assert.equal(b64urlEncode(Uint8Array.of(0xfb, 0xff)), "-_8");
  for (const bad of ["-_9", "AA==", "A", "a+b/", "ab c"]) {
    assert.throws(() => b64urlDecode(bad), `${bad} should not decode`);
  }
});

const lists = new Map();
for (const tl of vectors.trust_lists) {
  test(`trust list: ${tl.name}`, async () => {
    const root = b64urlDecode(tl.root_key);
    if (!tl.ok) {
      await assert.rejects(loadTrustList(tl.doc, root), "Go refused this trust list");
      return;
    }
    const got = await loadTrustList(tl.doc, root);
    assert.equal(got.region, tl.region);
    assert.equal(got.issuedAt, tl.issued_at);
    assert.equal(got.expiresAt, tl.expires_at);
    assert.deepEqual([...got.keys.values()].map((k) => k.kid).sort(), [...tl.kids].sort());
    lists.set(tl.name, got);
  });
}

test("passes: the verifier answers what pass.Verify answers", async (t) => {
  assert.ok(vectors.passes.length > 200);
  for (const v of vectors.passes) {
    await t.test(v.name, async () => {
      const tl = v.trust_list ? lists.get(v.trust_list) : null;
      if (v.trust_list) assert.ok(tl, `trust list ${v.trust_list} not loaded`);
      const got = await verifyPass(v.text, tl, v.now, v.expect_region);
      if (!v.ok) {
        assert.equal(got.ok, false, "Go refused this pass");
        assert.equal(got.reason, v.reason);
        return;
      }
      assert.equal(got.ok, true, `Go accepted this pass; the verifier said ${got.reason}`);
      assert.equal(got.kid, v.kid);
      assert.deepEqual(
        {
          region: got.claims.region,
          holder: got.claims.holder,
          masked_name: got.claims.maskedName,
          colour: got.claims.colour,
          issued_at: got.claims.issuedAt,
          expires: got.claims.expires,
        },
        v.claims,
      );
    });
  }
});

test("a forged or damaged pass is refused with no claims", async () => {
  let n = 0;
  for (const v of vectors.passes) {
    if (v.ok || !v.trust_list || !["malformed", "bad_signature"].includes(v.reason)) continue;
    const got = await verifyPass(v.text, lists.get(v.trust_list), v.now, v.expect_region);
    assert.equal(got.claims, undefined, `${v.name}: claims of a pass whose signature did not verify`);
    n++;
  }
  assert.ok(n > 100);
});

test("claims: strict CBOR", () => {
  const green = vectors.passes.find((v) => v.name === "green");
  const env = parseEnvelope(base45Decode(green.text.slice(4)));
  const c = decodeClaims(env.payload);
  assert.equal(c.colour, "green");
  // The same map with one byte more after it, or a key twice, is refused.
  assert.throws(() => decodeClaims(Uint8Array.of(...env.payload, 0x00)));
  const twice = Uint8Array.of(env.payload[0] + 1, ...env.payload.slice(1), 0x01, 0x64, 0x34, 0x32, 0x30, 0x31);
  assert.throws(() => decodeClaims(twice));
  // An indefinite-length map, a tag, an empty map.
  assert.throws(() => decodeClaims(Uint8Array.of(0xbf, 0xff)));
  assert.throws(() => decodeClaims(Uint8Array.of(0xc0, 0xa0)));
  assert.throws(() => decodeClaims(Uint8Array.of(0xa0)));
});

test("an expired trust list verifies nothing, and says so", async () => {
  const reasons = new Map(vectors.passes.map((v) => [v.name, v]));
  for (const name of ["expired list", "expired list, not a pass", "expired list, empty", "list expired a second ago", "version 1 list, a week old"]) {
    assert.equal(reasons.get(name)?.reason, "trust_list_expired", name);
  }
  for (const name of ["list expires in a second", "version 1 list", "version 1 list, a second short of a week"]) {
    assert.equal(reasons.get(name)?.ok, true, name);
  }
  const expired = lists.get("expired");
  assert.ok(expired && trustListExpired(expired, expired.expiresAt) && !trustListExpired(expired, expired.expiresAt - 1));
  // Whatever the text, not even read.
  for (const text of [null, 42, "OB1:", "x".repeat(5000)]) {
    assert.deepEqual(await verifyPass(text, expired, expired.expiresAt), { ok: false, reason: "trust_list_expired" });
  }
  // A version 1 list expires a week after its issue.
  const v1 = lists.get("version 1");
  assert.equal(v1.version, 1);
  assert.equal(v1.expiresAt - v1.issuedAt, LEGACY_TRUST_LIST_LIFETIME);
  assert.equal(lists.get("main").version, 2);
});

test("a trust list is stale in the last day of its life, or the last half of a shorter one", () => {
  const week = { issuedAt: 1000, expiresAt: 1000 + 7 * 86400 };
  assert.equal(trustListState(week, 1000), "ready");
  assert.equal(trustListState(week, week.expiresAt - 86400 - 1), "ready");
  assert.equal(trustListState(week, week.expiresAt - 86400), "stale");
  assert.equal(trustListState(week, week.expiresAt - 1), "stale");
  assert.equal(trustListState(week, week.expiresAt), "expired");
  assert.equal(trustListState(week, week.expiresAt + 365 * 86400), "expired");
  const hour = { issuedAt: 0, expiresAt: 3600 };
  assert.equal(trustListState(hour, 1799), "ready");
  assert.equal(trustListState(hour, 1800), "stale");
  assert.equal(trustListState(hour, 3600), "expired");
});
