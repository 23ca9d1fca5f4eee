// Checks that the page reads a poster's code on the phone as the Go code
// lays it out, against codes made by the Go code with what the phone must
// read of each and what the server says of it
// (internal/venue/testdata/place-codes.json, made by TestPlaceCodeVectors;
// OUTBREAK_PLACE_VECTORS names another file).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { readPlaceCode, refusalOf } from "../src/place.js";

const file =
  process.env.OUTBREAK_PLACE_VECTORS || fileURLToPath(new URL("../../../internal/venue/testdata/place-codes.json", import.meta.url));
const data = JSON.parse(readFileSync(file, "utf8"));
const byName = new Map(data.vectors.map((v) => [v.name, v]));

test("reads what each code claims, or nothing from what is no place code", async (t) => {
  assert.ok(data.vectors.length > 30);
  for (const v of data.vectors) {
    await t.test(v.name, () => {
      const got = readPlaceCode(v.text);
      if (!v.claims) {
        assert.equal(got, null, "the Go code reads no place code here");
        return;
      }
      assert.deepEqual(got, {
        region: v.claims.region,
        placeID: v.claims.place_id,
        kind: v.claims.kind,
        type: v.claims.type,
        carriage: v.claims.carriage,
        issuedAt: v.claims.issued_at,
        expires: v.claims.expires,
      });
    });
  }
});

test("every type of place is read", () => {
  const types = new Set(data.vectors.filter((v) => v.claims).map((v) => readPlaceCode(v.text).type));
  for (const ty of ["shop", "restaurant", "office", "school", "hospital", "station", "compound_entrance", "village_checkpoint",
    "train", "flight", "coach", "bus"]) {
    assert.ok(types.has(ty), ty);
  }
});

test("a refusal the phone can tell is the server's own; the others only the server tells", () => {
  for (const v of data.vectors) {
    if (!v.claims) continue;
    const r = refusalOf(readPlaceCode(v.text), data.region, data.now);
    if (r !== "") assert.equal(r, v.reason, v.name);
    else assert.ok(["", "bad_signature", "unknown_key"].includes(v.reason), `${v.name}: the server says ${v.reason}`);
  }
  assert.equal(refusalOf(readPlaceCode(byName.get("another region").text), data.region, data.now), "wrong_region");
  assert.equal(refusalOf(readPlaceCode(byName.get("trip over").text), data.region, data.now), "expired");
  assert.equal(refusalOf(readPlaceCode(byName.get("trip ends in a second").text), data.region, data.now), "");
});

test("a forged code reads like a genuine one: only the server can refuse it", () => {
  for (const name of ["signature changed", "unknown key"]) {
    const v = byName.get(name);
    assert.ok(v.reason === "bad_signature" || v.reason === "unknown_key", name);
    const c = readPlaceCode(v.text);
    assert.equal(c?.type, "restaurant", name);
    assert.equal(c.placeID, 42);
    assert.equal(refusalOf(c, data.region, data.now), "", name);
  }
});

test("junk never throws", () => {
  for (const x of [undefined, null, 42, {}, "OBP1:" + "\u0000".repeat(10), "OBP1:%%%", "OBP1:" + "Z".repeat(300)]) {
    assert.equal(readPlaceCode(x), null);
  }
});
