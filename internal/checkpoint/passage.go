// Package checkpoint is where passes are shown: a page that a checkpoint
// operator opens on a phone, which verifies each pass in the browser with
// WebCrypto against the region's signed trust list and keeps working when
// the server cannot be reached; and the passages it records — one per pass
// shown, accepted or refused — sent when the server answers, each exactly
// once thanks to the id the page gives it.
//
// The page's script is built from web/checkpoint (npm ci && npm run build,
// or make assets) into static/checkpoint.js, which is committed so that a
// clean clone builds with go build alone.
package checkpoint

import (
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Result says whether a pass shown was accepted.
type Result string

// The results of showing a pass.
const (
	Accepted Result = "accepted"
	Refused  Result = "refused"
)

// Limits on what a checkpoint reports.
const (
	// MaxBatch is the most passages one request may carry.
	MaxBatch = 200
	// MaxAge is how old a passage may be when it reaches the server: a phone
	// offline for longer has lost them.
	MaxAge = 7 * 24 * time.Hour
	// MaxAhead is how far a passage's time may lie ahead of the server's
	// clock, for a phone whose clock runs fast.
	MaxAhead = 5 * time.Minute
)

// Reasons lists the reasons a pass is refused for: those of pass.Verify
// (trust_list_expired: the page's list had expired, and it verified
// nothing), and no_trust_list when the page has not yet got the region's
// trust list.
var Reasons = []string{
	string(pass.ReasonMalformed), string(pass.ReasonUnknownKey), string(pass.ReasonBadSignature),
	string(pass.ReasonExpired), string(pass.ReasonNotYetValid), string(pass.ReasonWrongRegion),
	string(pass.ReasonTrustListExpired), "no_trust_list",
}

// Colours lists the colours a pass shows.
var Colours = []string{string(pass.Green), string(pass.Yellow), string(pass.Red)}

// Passage is one pass shown at a checkpoint, as the page reports it. Only a
// pass whose signature verified has a holder, region and colour: what a
// forged pass claims is not worth keeping.
type Passage struct {
	// ClientID is the id the page gave the passage (a random UUID, in lower
	// case): sending a passage twice records it once.
	ClientID string    `json:"client_id"`
	SeenAt   time.Time `json:"seen_at"`
	Result   Result    `json:"result"`
	// Reason is why the pass was refused; "" when it was accepted.
	Reason string `json:"reason"`
	// Holder is the pass's pseudonymous holder id.
	Holder string `json:"holder"`
	Region string `json:"region"`
	Colour string `json:"colour"`
	// KID is the base64url id of the key that signed the pass.
	KID string `json:"kid"`
	// PlaceID is the registered place the checkpoint stands at (a compound
	// entrance, a village checkpoint, a venue), chosen on the page; 0 for
	// none. An accepted passage at a place counts as the holder's check-in
	// there.
	PlaceID int64 `json:"place_id,omitempty"`
}

// Batch is what the page sends.
type Batch struct {
	Passages []Passage `json:"passages"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// regionRE is pass's region code: 1 to 12 letters, digits, - _ or .
var regionRE = regexp.MustCompile(`^[0-9A-Za-z._-]{1,12}$`)

var holderEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Validate checks a batch at now, reporting every problem at once with
// fields named passages[i].field.
func (b Batch) Validate(now time.Time) error {
	var e validation.Errors
	switch {
	case len(b.Passages) == 0:
		e.Add("passages", "required")
	case len(b.Passages) > MaxBatch:
		e.Add("passages", "invalid", "max", MaxBatch)
	}
	for i, p := range b.Passages {
		p.validate(&e, fmt.Sprintf("passages[%d].", i), now)
	}
	return e.Err()
}

func (p Passage) validate(e *validation.Errors, prefix string, now time.Time) {
	if !uuidRE.MatchString(p.ClientID) {
		e.Add(prefix+"client_id", "invalid")
	}
	if p.PlaceID < 0 {
		e.Add(prefix+"place_id", "invalid")
	}
	switch {
	case p.SeenAt.IsZero():
		e.Add(prefix+"seen_at", "required")
	case p.SeenAt.After(now.Add(MaxAhead)), p.SeenAt.Before(now.Add(-MaxAge)):
		e.Add(prefix+"seen_at", "invalid")
	}
	verified := p.Result == Accepted
	switch p.Result {
	case Accepted:
		if p.Reason != "" {
			e.Add(prefix+"reason", "invalid")
		}
	case Refused:
		if !slices.Contains(Reasons, p.Reason) {
			e.Add(prefix+"reason", "invalid")
		}
		// Refused after its signature verified: its claims are the issuer's.
		verified = p.Reason == string(pass.ReasonExpired) || p.Reason == string(pass.ReasonNotYetValid) ||
			p.Reason == string(pass.ReasonWrongRegion) || p.Reason == string(pass.ReasonUnknownKey)
	default:
		e.Add(prefix+"result", "invalid")
	}
	if p.Colour != "" && !slices.Contains(Colours, p.Colour) || p.Result == Accepted && p.Colour == "" {
		e.Add(prefix+"colour", "invalid")
	}
	if p.Holder != "" && !validHolder(p.Holder) || p.Result == Accepted && p.Holder == "" {
		e.Add(prefix+"holder", "invalid")
	}
	if p.Region != "" && !regionRE.MatchString(p.Region) || p.Result == Accepted && p.Region == "" {
		e.Add(prefix+"region", "invalid")
	}
	if p.KID != "" && !validKID(p.KID) || p.Result == Accepted && p.KID == "" {
		e.Add(prefix+"kid", "invalid")
	}
	if !verified && (p.Holder != "" || p.Colour != "" || p.Region != "") && !e.Has(prefix+"holder") {
		// A pass refused before its signature was checked says nothing
		// worth keeping; the page sends none of it.
		e.Add(prefix+"holder", "invalid")
	}
}

func validHolder(h string) bool {
	if len(h) > pass.MaxHolderLen {
		return false
	}
	b, err := holderEncoding.DecodeString(h)
	return err == nil && len(b) > 0 && holderEncoding.EncodeToString(b) == h
}

func validKID(k string) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(k)
	return err == nil && len(b) == pass.KeyIDLen
}
