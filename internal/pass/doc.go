// Package pass is the health pass ("health code"): a small signed document a
// resident shows as a QR code and a checkpoint verifies offline, in well
// under a second, against a list of trusted keys.
//
// It follows the EU Digital COVID Certificate (the hcert specification)
// without its zlib step, as a pass is small:
//
//	text    = "OB1:" Base45(COSE)                 RFC 9285; QR alphanumeric
//	COSE    = COSE_Sign1, CBOR tag 18             RFC 9052
//	          protected   {1: -8 (EdDSA), 4: kid}
//	          unprotected {}
//	          payload     CBOR claims, core deterministic encoding
//	          signature   Ed25519 over the Sig_structure
//	kid     = first 8 bytes of SHA-256(raw 32-byte Ed25519 public key)
//	claims  = {1: region (text), 2: holder (bytes, the base32 of Holder),
//	           4: expires, 6: issued at (unix seconds),
//	           -1: version (1), -2: masked name (text),
//	           -3: colour (1 green, 2 yellow, 3 red)}
//
// Verify accepts exactly one byte layout of the envelope and refuses any
// re-encoding, so a text verifies only if it is byte for byte the one the
// issuer signed. A typical pass is about 200 characters, a version 10 QR
// code at error-correction level Q.
//
// A region vouches for its pass keys to checkpoints elsewhere with a trust
// list document signed by its long-lived root key (SignTrustList,
// ParseTrustList); Merge joins the lists of several regions. The document
// is JSON whose signature covers the exact bytes of a base64url payload:
//
//	{
//	  "payload":   base64url (RFC 4648 §5, no padding) of the payload bytes,
//	  "root_kid":  base64url of the root key's kid,
//	  "signature": base64url of the Ed25519 signature by the root key over
//	               exactly the payload bytes (the base64url-decoded payload)
//	}
//
// where the payload bytes are UTF-8 JSON:
//
//	{
//	  "type": "outbreak-pass-trust-list", "version": 2,
//	  "region": "4201", "issued_at": "2026-05-01T08:00:00Z",
//	  "expires_at": "2026-05-08T08:00:00Z",
//	  "keys": [{"kid": base64url, "public_key": base64url of the 32 raw bytes,
//	            "valid_from": RFC 3339, "valid_until": RFC 3339}, ...]
//	}
//
// A list past its expires_at vouches for nothing: a verifier that has had
// no newer list by then refuses every pass (ReasonTrustListExpired), so
// that one kept offline for months does not go on trusting keys withdrawn
// meanwhile. Version 1 is the same without expires_at; it is still read,
// as expiring LegacyTrustListLifetime (a week) after issued_at, and still
// made by SignTrustListV1 for verifiers that read only version 1 — they
// refuse version 2, as they refuse any payload field they do not know.
//
// A browser checks it with WebCrypto alone (testdata/verify_trustlist.mjs):
//
//	const key = await crypto.subtle.importKey("raw", rootPublicKey,
//	    {name: "Ed25519"}, false, ["verify"]);
//	const payload = base64urlDecode(doc.payload);
//	if (!await crypto.subtle.verify({name: "Ed25519"}, key,
//	    base64urlDecode(doc.signature), payload)) throw new Error("forged");
//	const list = JSON.parse(new TextDecoder().decode(payload));
//
// then checks the type and version, each kid against its key, and the
// windows. A key vouches for a pass issued at or after its valid_from that
// expires at or before its valid_until.
//
// PNG and SVG draw the QR code inside a thick band of the pass colour, so
// the colour shows at a glance, with the white quiet zone inside the band.
package pass
