// Checks a pass trust list document the way a browser does, with WebCrypto
// alone: node verify_trustlist.mjs DOC.json ROOT_PUBLIC_KEY_BASE64URL
// Prints {"region":..., "issued_at":..., "expires_at":..., "kids":[...]} or exits 1.
import { readFileSync } from "node:fs";

const b64url = (s) => {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error("not base64url");
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
};
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

const [docPath, rootB64] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docPath, "utf8"));
const rootRaw = b64url(rootB64);
const rootKid = new Uint8Array(await crypto.subtle.digest("SHA-256", rootRaw)).slice(0, 8);
if (hex(rootKid) !== hex(b64url(doc.root_kid))) throw new Error("signed by another root key");

const rootKey = await crypto.subtle.importKey("raw", rootRaw, { name: "Ed25519" }, false, ["verify"]);
const payload = b64url(doc.payload);
if (!(await crypto.subtle.verify({ name: "Ed25519" }, rootKey, b64url(doc.signature), payload))) {
  console.error("bad signature");
  process.exit(1);
}
const list = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
if (list.type !== "outbreak-pass-trust-list" || list.version !== 2) throw new Error("not a trust list of version 2");
if (!(Date.parse(list.issued_at) < Date.parse(list.expires_at))) throw new Error("expires before it is issued");
const kids = [];
for (const k of list.keys) {
  const pub = b64url(k.public_key);
  const kid = new Uint8Array(await crypto.subtle.digest("SHA-256", pub)).slice(0, 8);
  if (pub.length !== 32 || hex(kid) !== hex(b64url(k.kid))) throw new Error("kid does not match its key");
  if (!(Date.parse(k.valid_from) < Date.parse(k.valid_until))) throw new Error("empty window");
  // The key must import as a WebCrypto Ed25519 key.
  await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
  kids.push(k.kid);
}
console.log(JSON.stringify({ region: list.region, issued_at: list.issued_at, expires_at: list.expires_at, kids }));
