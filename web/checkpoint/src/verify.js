// Verifies a health pass in the browser, exactly as internal/pass does on
// the server (read internal/pass/doc.go and verify.go): the same byte
// layout, the same checks in the same order, the same reasons. It needs
// nothing but WebCrypto, so a checkpoint keeps working offline.
//
//	text   = "OB1:" Base45(COSE_Sign1)
//	COSE   = D2 84 4D A2 01 27 04 48 <kid:8> A0 <bstr: CBOR claims> 58 40 <sig:64>
//	claims = {1: region, 2: holder bytes, 4: expires, 6: issued at,
//	          -1: version, -2: masked name, -3: colour (1 green, 2 yellow, 3 red)}
//
// Every function here is pure apart from crypto.subtle, so that Node's test
// runner checks it against passes made by the Go code (test/verify.test.mjs).

export const PREFIX = "OB1:";
export const MAX_PASS_LEN = 1024;
export const CLOCK_SKEW = 5 * 60; // seconds a pass's issue time may lie ahead
export const KEY_ID_LEN = 8;
export const MAX_VALIDITY = 24 * 3600;
export const MAX_MASKED_NAME_RUNES = 32;
export const MAX_REGION_LEN = 12;
export const MAX_TRUST_LIST_LEN = 64 << 10;
export const MAX_TRUST_LIST_KEYS = 128;
export const TRUST_LIST_TYPE = "outbreak-pass-trust-list";
// A version 1 list states no expiry: it is read as expiring this long after
// its issue (pass.LegacyTrustListLifetime).
export const LEGACY_TRUST_LIST_LIFETIME = 7 * 24 * 3600;
const MAX_UNIX = 253402300799; // the last second of year 9999
const MAX_HOLDER_BYTES = 10; // 16 base32 characters

/** The reasons a pass is refused for, as pass.Reason names them. */
export const Reason = Object.freeze({
  Malformed: "malformed",
  UnknownKey: "unknown_key",
  BadSignature: "bad_signature",
  Expired: "expired",
  NotYetValid: "not_yet_valid",
  WrongRegion: "wrong_region",
  TrustListExpired: "trust_list_expired",
});

const COLOURS = { 1: "green", 2: "yellow", 3: "red" };

class FormatError extends Error {}

// ---------------------------------------------------------------------------
// Base45 (RFC 9285), decoded strictly as internal/pass does: each 3-character
// group below 65536 and a final 2-character group below 256, so that every
// byte string has exactly one spelling.

const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const B45_VALUES = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < B45.length; i++) t[B45.charCodeAt(i)] = i;
  return t;
})();

/** Returns the bytes of a Base45 text, or throws. */
export function base45Decode(s) {
  if (s.length % 3 === 1) throw new FormatError("base45: bad length");
  const value = (i) => {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B45_VALUES[c] : -1;
    if (v < 0) throw new FormatError("base45: bad character");
    return v;
  };
  const out = new Uint8Array(Math.floor(s.length / 3) * 2 + (s.length % 3 === 2 ? 1 : 0));
  let o = 0;
  let i = 0;
  for (; i + 2 < s.length; i += 3) {
    const n = value(i) + value(i + 1) * 45 + value(i + 2) * 2025;
    if (n > 0xffff) throw new FormatError("base45: group out of range");
    out[o++] = n >> 8;
    out[o++] = n & 0xff;
  }
  if (i < s.length) {
    const n = value(i) + value(i + 1) * 45;
    if (n > 0xff) throw new FormatError("base45: group out of range");
    out[o++] = n;
  }
  return out;
}

/** Returns the Base45 text of bytes. */
export function base45Encode(b) {
  let s = "";
  for (let i = 0; i + 1 < b.length; i += 2) {
    const n = (b[i] << 8) | b[i + 1];
    s += B45[n % 45] + B45[Math.floor(n / 45) % 45] + B45[Math.floor(n / 2025)];
  }
  if (b.length % 2 === 1) {
    const n = b[b.length - 1];
    s += B45[n % 45] + B45[Math.floor(n / 45)];
  }
  return s;
}

// ---------------------------------------------------------------------------
// base64url without padding (RFC 4648 §5), strict: one spelling per value.

/** Returns the bytes of unpadded base64url text, or throws. */
export function b64urlDecode(s) {
  if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) {
    throw new FormatError("base64url: malformed");
  }
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
  const out = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  if (b64urlEncode(out) !== s) throw new FormatError("base64url: non-zero trailing bits");
  return out;
}

/** Returns the unpadded base64url text of bytes. */
export function b64urlEncode(b) {
  let bin = "";
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Returns bytes as lower-case hex. */
export function hex(b) {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// RFC 4648 base32, upper case, unpadded: the text form of a holder id.
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
function base32Encode(b) {
  let s = "";
  let bits = 0;
  let acc = 0;
  for (const x of b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      s += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) s += B32[(acc << (5 - bits)) & 31];
  return s;
}

// ---------------------------------------------------------------------------
// The COSE_Sign1 envelope: exactly one byte layout is accepted.

const ENVELOPE_HEAD = [0xd2, 0x84, 0x4d, 0xa2, 0x01, 0x27, 0x04, 0x48];
const PAYLOAD_OFFSET = ENVELOPE_HEAD.length + KEY_ID_LEN + 1; // after kid and the empty map
const SIG_TRAILER_LEN = 2 + 64;

/** Splits a pass's COSE bytes into kid, protected header, payload and signature, or throws. */
export function parseEnvelope(b) {
  if (b.length < PAYLOAD_OFFSET + 1 + SIG_TRAILER_LEN) throw new FormatError("cose: too short");
  for (let i = 0; i < ENVELOPE_HEAD.length; i++) {
    if (b[i] !== ENVELOPE_HEAD[i]) throw new FormatError("cose: not a pass envelope");
  }
  if (b[PAYLOAD_OFFSET - 1] !== 0xa0) throw new FormatError("cose: unprotected header not empty");
  const kid = b.slice(ENVELOPE_HEAD.length, ENVELOPE_HEAD.length + KEY_ID_LEN);
  const protectedHeader = b.subarray(2, 2 + 14);
  const rest = b.subarray(PAYLOAD_OFFSET);
  let n;
  let hdr;
  if (rest[0] >= 0x40 && rest[0] < 0x58) {
    [n, hdr] = [rest[0] - 0x40, 1];
  } else if (rest[0] === 0x58 && rest[1] >= 24) {
    [n, hdr] = [rest[1], 2];
  } else {
    throw new FormatError("cose: bad payload header");
  }
  if (rest.length !== hdr + n + SIG_TRAILER_LEN) throw new FormatError("cose: bad length");
  const s = rest.subarray(hdr + n);
  if (s[0] !== 0x58 || s[1] !== 64) throw new FormatError("cose: bad signature header");
  return {
    kid,
    protectedHeader,
    payloadRaw: rest.subarray(0, hdr + n),
    payload: rest.subarray(hdr, hdr + n),
    signature: s.subarray(2),
  };
}

// ["Signature1", protected, external_aad (empty), payload] (RFC 9052 §4.4).
const SIG_STRUCTURE_PREFIX = [0x84, 0x6a, ...Array.from("Signature1", (c) => c.charCodeAt(0))];

/** Returns the bytes a pass signature covers. */
export function sigStructure(env) {
  const out = new Uint8Array(SIG_STRUCTURE_PREFIX.length + env.protectedHeader.length + 1 + env.payloadRaw.length);
  out.set(SIG_STRUCTURE_PREFIX, 0);
  out.set(env.protectedHeader, SIG_STRUCTURE_PREFIX.length);
  out[SIG_STRUCTURE_PREFIX.length + env.protectedHeader.length] = 0x40;
  out.set(env.payloadRaw, SIG_STRUCTURE_PREFIX.length + env.protectedHeader.length + 1);
  return out;
}

// ---------------------------------------------------------------------------
// The claims: a tiny, strict CBOR reader for one map of small-integer keys
// to unsigned integers, text and bytes — definite lengths, no tags, no
// duplicate or unknown keys, valid UTF-8, nothing after the map.

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function cborReader(b) {
  let i = 0;
  const byte = () => {
    if (i >= b.length) throw new FormatError("cbor: truncated");
    return b[i++];
  };
  // head returns [major type, argument]; arguments beyond 2^53 become Infinity.
  const head = () => {
    const ib = byte();
    const major = ib >> 5;
    const info = ib & 31;
    if (info < 24) return [major, info];
    const len = { 24: 1, 25: 2, 26: 4, 27: 8 }[info];
    if (!len) throw new FormatError("cbor: indefinite length or reserved value");
    let v = 0;
    for (let k = 0; k < len; k++) v = v * 256 + byte();
    return [major, v > Number.MAX_SAFE_INTEGER ? Infinity : v];
  };
  const bytes = (n) => {
    if (n > b.length - i) throw new FormatError("cbor: truncated");
    const out = b.subarray(i, i + n);
    i += n;
    return out;
  };
  return { head, bytes, done: () => i === b.length };
}

const CLAIM_TYPES = { 1: "text", 2: "bytes", 4: "uint", 6: "uint", [-1]: "uint", [-2]: "text", [-3]: "uint" };

/** Decodes and validates the CBOR claims of a pass, or throws. */
export function decodeClaims(payload) {
  const r = cborReader(payload);
  const [major, pairs] = r.head();
  if (major !== 5) throw new FormatError("cbor: claims are not a map");
  if (pairs > 16) throw new FormatError("cbor: too many pairs");
  const w = {};
  for (let p = 0; p < pairs; p++) {
    const [km, kv] = r.head();
    let key;
    if (km === 0) key = kv;
    else if (km === 1) key = -1 - kv;
    else throw new FormatError("cbor: key is not an integer");
    const type = CLAIM_TYPES[key];
    if (!type) throw new FormatError("cbor: unknown claim " + key);
    if (Object.hasOwn(w, key)) throw new FormatError("cbor: duplicate claim " + key);
    const [vm, vv] = r.head();
    if (type === "uint") {
      if (vm !== 0) throw new FormatError("cbor: claim " + key + " is not an unsigned integer");
      w[key] = vv;
    } else if (type === "text") {
      if (vm !== 3) throw new FormatError("cbor: claim " + key + " is not text");
      w[key] = utf8.decode(r.bytes(vv));
    } else {
      if (vm !== 2) throw new FormatError("cbor: claim " + key + " is not bytes");
      w[key] = r.bytes(vv).slice();
    }
  }
  if (!r.done()) throw new FormatError("cbor: data after the claims");

  const colourCode = w[-3] ?? 0;
  if (colourCode > 255) throw new FormatError("cbor: colour out of range");
  const colour = COLOURS[colourCode];
  if (!colour) throw new FormatError("claims: unknown colour code");
  const iat = w[6] ?? 0;
  const exp = w[4] ?? 0;
  const version = w[-1] ?? 0;
  if (iat > MAX_UNIX || exp > MAX_UNIX || version > 1) throw new FormatError("claims: field out of range");
  const holder = w[2] ?? new Uint8Array(0);
  if (holder.length === 0 || holder.length > MAX_HOLDER_BYTES) throw new FormatError("claims: bad holder");
  const c = {
    version,
    region: w[1] ?? "",
    holder: base32Encode(holder),
    maskedName: w[-2] ?? "",
    colour,
    issuedAt: iat,
    expires: exp,
  };
  validateClaims(c);
  return c;
}

/** Reports whether r is a region code: 1 to 12 letters, digits, - _ or . */
export function validRegion(r) {
  return typeof r === "string" && r.length >= 1 && r.length <= MAX_REGION_LEN && /^[0-9A-Za-z._-]+$/.test(r);
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u;

function validateClaims(c) {
  if (c.version !== 1) throw new FormatError("claims: version");
  if (!validRegion(c.region)) throw new FormatError("claims: region");
  const runes = [...c.maskedName].length;
  if (runes === 0 || runes > MAX_MASKED_NAME_RUNES || !PRINTABLE.test(c.maskedName)) {
    throw new FormatError("claims: masked name");
  }
  if (c.issuedAt <= 0 || c.expires > MAX_UNIX) throw new FormatError("claims: times out of range");
  if (c.expires <= c.issuedAt) throw new FormatError("claims: expires before issued");
  if (c.expires - c.issuedAt > MAX_VALIDITY) throw new FormatError("claims: valid too long");
}

// ---------------------------------------------------------------------------
// The trust list: {"payload","root_kid","signature"}, the root key's
// Ed25519 signature over the base64url-decoded payload bytes.

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function parseTime(s, what) {
  const ms = typeof s === "string" && RFC3339.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(ms)) throw new FormatError("trust list: " + what + " is not an RFC 3339 time");
  return Math.floor(ms / 1000);
}

function exactKeys(o, keys, what) {
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new FormatError("trust list: " + what + " is not an object");
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new FormatError("trust list: unknown field " + k + " in " + what);
  }
}

async function keyID(subtle, raw) {
  return new Uint8Array(await subtle.digest("SHA-256", raw)).slice(0, KEY_ID_LEN);
}

/**
 * Checks a trust list document (its JSON text) against the region's root
 * public key (32 raw bytes) and returns {region, version, issuedAt,
 * expiresAt, keys}, where keys maps a kid in hex to {kid, key (a
 * CryptoKey), region, validFrom, validUntil}; times are unix seconds.
 * Version 2 states its expiry; version 1, which does not, expires
 * LEGACY_TRUST_LIST_LIFETIME after its issue. An expired list loads (so
 * that the page can say since when), and verifyPass refuses everything
 * with it. Throws when anything is wrong.
 */
export async function loadTrustList(docText, rootRaw, subtle = globalThis.crypto.subtle) {
  if (!(rootRaw instanceof Uint8Array) || rootRaw.length !== 32) throw new FormatError("trust list: root key is not 32 bytes");
  if (typeof docText !== "string" || new TextEncoder().encode(docText).length > MAX_TRUST_LIST_LEN) {
    throw new FormatError("trust list: too large");
  }
  const doc = JSON.parse(docText);
  exactKeys(doc, ["payload", "root_kid", "signature"], "document");
  if (!doc.payload || !doc.root_kid || !doc.signature) throw new FormatError("trust list: payload, root_kid and signature are required");
  if (hex(b64urlDecode(doc.root_kid)) !== hex(await keyID(subtle, rootRaw))) {
    throw new FormatError("trust list: signed by another root key");
  }
  const payload = b64urlDecode(doc.payload);
  const sig = b64urlDecode(doc.signature);
  if (sig.length !== 64) throw new FormatError("trust list: signature is not 64 bytes");
  const root = await subtle.importKey("raw", rootRaw, { name: "Ed25519" }, false, ["verify"]);
  if (!(await subtle.verify({ name: "Ed25519" }, root, sig, payload))) throw new FormatError("trust list: bad signature");

  const p = JSON.parse(utf8.decode(payload));
  if (p === null || typeof p !== "object" || p.type !== TRUST_LIST_TYPE || (p.version !== 1 && p.version !== 2)) {
    throw new FormatError("trust list: not a trust list of version 1 or 2");
  }
  if (p.version === 1) exactKeys(p, ["type", "version", "region", "issued_at", "keys"], "payload");
  else exactKeys(p, ["type", "version", "region", "issued_at", "expires_at", "keys"], "payload");
  const issuedAt = parseTime(p.issued_at, "issued_at");
  const expiresAt = p.version === 1 ? issuedAt + LEGACY_TRUST_LIST_LIFETIME : parseTime(p.expires_at, "expires_at");
  if (!(expiresAt > issuedAt)) throw new FormatError("trust list: expires before it is issued");
  if (!validRegion(p.region)) throw new FormatError("trust list: region");
  const list = p.keys ?? [];
  if (!Array.isArray(list) || list.length > MAX_TRUST_LIST_KEYS) throw new FormatError("trust list: keys");
  const keys = new Map();
  for (const k of list) {
    exactKeys(k, ["kid", "public_key", "valid_from", "valid_until"], "key");
    const kid = b64urlDecode(k.kid);
    const pub = b64urlDecode(k.public_key);
    const validFrom = parseTime(k.valid_from, "valid_from");
    const validUntil = parseTime(k.valid_until, "valid_until");
    if (pub.length !== 32 || hex(kid) !== hex(await keyID(subtle, pub))) throw new FormatError("trust list: kid does not match its key");
    if (!(validUntil > validFrom)) throw new FormatError("trust list: empty validity window");
    if (keys.has(hex(kid))) throw new FormatError("trust list: key listed twice");
    const key = await subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    keys.set(hex(kid), { kid: b64urlEncode(kid), key, region: p.region, validFrom, validUntil });
  }
  return { region: p.region, version: p.version, issuedAt, expiresAt, keys };
}

/** Reports whether a trust list from loadTrustList has expired at now (unix seconds). */
export function trustListExpired(trustList, now) {
  return now >= trustList.expiresAt;
}

// A list is stale — the checkpoint should reconnect soon — in the last day
// of its life, or the last half of a shorter one.
export const STALE_WITHIN = 24 * 3600;

/** Returns the state of a trust list at now (unix seconds): "expired", "stale" or "ready". */
export function trustListState(trustList, now) {
  if (trustListExpired(trustList, now)) return "expired";
  const within = Math.min(STALE_WITHIN, (trustList.expiresAt - trustList.issuedAt) / 2);
  return trustList.expiresAt - now <= within ? "stale" : "ready";
}

// ---------------------------------------------------------------------------
// The pass.

/**
 * Verifies the text of a pass at now (unix seconds) against a trust list
 * from loadTrustList. expectRegion, when not "", is the only region whose
 * passes are accepted. Returns {ok: true, claims, kid} or {ok: false,
 * reason, kid?, claims?}; claims come with a refusal only when the
 * signature verified (an expired pass, say), never for a forged one. A
 * list past its expiry vouches for nothing: every text is refused with
 * Reason.TrustListExpired before it is read.
 */
export async function verifyPass(text, trustList, now, expectRegion = "", subtle = globalThis.crypto.subtle) {
  const refuse = (reason, extra = {}) => ({ ok: false, reason, ...extra });
  if (trustList && trustListExpired(trustList, now)) return refuse(Reason.TrustListExpired);
  if (typeof text !== "string") return refuse(Reason.Malformed);
  if (text.length > MAX_PASS_LEN || new TextEncoder().encode(text).length > MAX_PASS_LEN) return refuse(Reason.Malformed);
  if (!text.startsWith(PREFIX)) return refuse(Reason.Malformed);
  let env;
  try {
    env = parseEnvelope(base45Decode(text.slice(PREFIX.length)));
  } catch {
    return refuse(Reason.Malformed);
  }
  const kid = b64urlEncode(env.kid);
  const key = trustList?.keys.get(hex(env.kid));
  if (!key) return refuse(Reason.UnknownKey, { kid });
  if (!(await subtle.verify({ name: "Ed25519" }, key.key, env.signature, sigStructure(env)))) {
    return refuse(Reason.BadSignature, { kid });
  }
  let claims;
  try {
    claims = decodeClaims(env.payload);
  } catch {
    return refuse(Reason.Malformed, { kid });
  }
  if (claims.region !== key.region) return refuse(Reason.WrongRegion, { kid, claims });
  if (expectRegion !== "" && claims.region !== expectRegion) return refuse(Reason.WrongRegion, { kid, claims });
  if (claims.issuedAt < key.validFrom || claims.expires > key.validUntil) return refuse(Reason.UnknownKey, { kid, claims });
  if (now + CLOCK_SKEW < claims.issuedAt) return refuse(Reason.NotYetValid, { kid, claims });
  if (now >= claims.expires) return refuse(Reason.Expired, { kid, claims });
  return { ok: true, claims, kid };
}
