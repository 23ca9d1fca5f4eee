// Reads a place code — the text of a poster's QR code — on the phone, as
// internal/venue lays it out (read internal/venue/code.go):
//
//	text   = "OBP1:" Base45(COSE_Sign1)
//	COSE   = D2 84 4D A2 01 27 04 48 <kid:8> A0 <bstr: CBOR claims> 58 40 <sig:64>
//	claims = {1: region, 4: expires (dated trips only), 6: issued at,
//	          -1: version (1), -2: place id, -3: kind, -4: type,
//	          -5: carriage (train posters only)}
//
// The signature is NOT checked here: the phone holds no place keys (and a
// code names no place, only its id). What this reads is what the poster
// claims; the page shows it as such, and the server checks the signature
// when the check-in reaches it, refusing a forged or altered code. Pure
// apart from its imports, so Node's test runner checks it against codes
// made by the Go code (test/place.test.mjs).
import { base45Decode, parseEnvelope, validRegion } from "../../checkpoint/src/verify.js";

export const PLACE_PREFIX = "OBP1:";
export const MAX_CODE_LEN = 512; // venue.MaxCodeLen
export const MAX_CARRIAGE = 40; // venue.MaxCarriage
const MAX_UNIX = 253402300799; // the last second of year 9999

// The wire codes of venue's types and kinds (venue.typeCodes, kindCodes).
const TYPES = {
  1: ["shop", "venue"],
  2: ["restaurant", "venue"],
  3: ["office", "venue"],
  4: ["school", "venue"],
  5: ["hospital", "venue"],
  6: ["station", "venue"],
  7: ["compound_entrance", "venue"],
  8: ["village_checkpoint", "venue"],
  21: ["train", "vehicle"],
  22: ["flight", "vehicle"],
  23: ["coach", "vehicle"],
  24: ["bus", "vehicle"],
};
const KINDS = { 1: "venue", 2: "vehicle" };

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// claims reads the CBOR map of a code's claims strictly: definite lengths,
// integer keys of the known claims once each, nothing after the map.
function claims(b) {
  let i = 0;
  const byte = () => {
    if (i >= b.length) throw new Error("cbor: truncated");
    return b[i++];
  };
  const head = () => {
    const ib = byte();
    const info = ib & 31;
    if (info < 24) return [ib >> 5, info];
    const len = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!len) throw new Error("cbor: indefinite length or reserved value");
    let v = 0;
    for (let k = 0; k < len; k++) v = v * 256 + byte();
    return [ib >> 5, v > Number.MAX_SAFE_INTEGER ? Infinity : v];
  };
  const [major, pairs] = head();
  if (major !== 5 || pairs > 16) throw new Error("cbor: claims are not a small map");
  const w = {};
  for (let p = 0; p < pairs; p++) {
    const [km, kv] = head();
    if (km !== 0 && km !== 1) throw new Error("cbor: key is not an integer");
    const key = km === 0 ? kv : -1 - kv;
    if (![1, 4, 6, -1, -2, -3, -4, -5].includes(key)) throw new Error("cbor: unknown claim " + key);
    if (Object.hasOwn(w, key)) throw new Error("cbor: duplicate claim " + key);
    const [vm, vv] = head();
    if (key === 1) {
      if (vm !== 3 || vv > b.length - i) throw new Error("cbor: region is not text");
      w[key] = utf8.decode(b.subarray(i, i + vv));
      i += vv;
    } else {
      if (vm !== 0) throw new Error("cbor: claim " + key + " is not an unsigned integer");
      w[key] = vv;
    }
  }
  if (i !== b.length) throw new Error("cbor: data after the claims");
  return w;
}

/**
 * Returns what a place code claims — {region, placeID, kind, type,
 * carriage (0: none), issuedAt, expires (0: never), both unix seconds} —
 * or null when the text is not a place code of this format. The signature
 * is not checked: see above.
 */
export function readPlaceCode(text) {
  if (typeof text !== "string" || text.length > MAX_CODE_LEN || !text.startsWith(PLACE_PREFIX)) return null;
  try {
    const env = parseEnvelope(base45Decode(text.slice(PLACE_PREFIX.length)));
    const w = claims(env.payload);
    const [type, typeKind] = TYPES[w[-4]] ?? [];
    const c = {
      region: w[1] ?? "",
      placeID: w[-2] ?? 0,
      kind: KINDS[w[-3]] ?? "",
      type: type ?? "",
      carriage: w[-5] ?? 0,
      issuedAt: w[6] ?? 0,
      expires: w[4] ?? 0,
    };
    const ok =
      (w[-1] ?? 0) === 1 &&
      validRegion(c.region) &&
      c.placeID > 0 &&
      c.placeID <= 2 ** 53 &&
      type !== undefined &&
      typeKind === c.kind &&
      (c.carriage === 0 || (c.type === "train" && c.carriage <= MAX_CARRIAGE)) &&
      c.issuedAt > 0 &&
      c.issuedAt <= MAX_UNIX &&
      (c.expires === 0 || (c.expires > c.issuedAt && c.expires <= MAX_UNIX));
    return ok ? c : null;
  } catch {
    return null;
  }
}

/**
 * Says why the server will refuse a check-in at the place a code claims,
 * when the phone can tell already: "wrong_region" (a poster of another
 * region) or "expired" (a dated trip that has ended, at now in unix
 * seconds); "" when it cannot tell. The same words as the server's
 * reasons (checkin.Reason), so the page words them from the catalogue.
 */
export function refusalOf(claims, region, now) {
  if (region && claims.region !== region) return "wrong_region";
  if (claims.expires !== 0 && now >= claims.expires) return "expired";
  return "";
}
