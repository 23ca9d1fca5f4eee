// Package account holds sign-in: resident and staff accounts with their
// roles and jurisdiction scopes, argon2id password hashes, browser sessions,
// and API tokens for machine clients such as labs and hospitals.
package account

import (
	"database/sql"
	"regexp"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// Account is one sign-in.
type Account struct {
	ID               int64          `db:"id" json:"id"`
	Username         string         `db:"username" json:"username"`
	PasswordHash     string         `db:"password_hash" json:"-"`
	Role             rbac.Role      `db:"role" json:"role"`
	DisplayName      string         `db:"display_name" json:"display_name"`
	ResidentID       sql.NullInt64  `db:"resident_id" json:"-"`
	JurisdictionID   sql.NullInt64  `db:"jurisdiction_id" json:"-"`
	Lang             string         `db:"lang" json:"lang"`
	Demo             bool           `db:"demo" json:"demo"`
	Disabled         bool           `db:"disabled" json:"disabled"`
	CreatedBy        sql.NullInt64  `db:"created_by" json:"-"`
	CreatedAt        time.Time      `db:"created_at" json:"created_at"`
	JurisdictionCode sql.NullString `db:"jurisdiction_code" json:"-"`
	JurisdictionPath sql.NullString `db:"jurisdiction_path" json:"-"`
}

// Actor is the account as the actor of a request.
func (a Account) Actor() rbac.Actor {
	return rbac.Actor{
		AccountID: a.ID, Name: a.DisplayName, Role: a.Role,
		ResidentID: a.ResidentID.Int64, JurisdictionID: a.JurisdictionID.Int64, ScopePath: a.JurisdictionPath.String,
	}
}

// Languages the message catalogue speaks.
var Languages = []string{"zh", "en"}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{2,63}$`)

// NormalizeUsername lower-cases and trims a username.
func NormalizeUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// ValidUsername reports whether u (normalised) is an acceptable username.
func ValidUsername(u string) bool { return usernameRE.MatchString(u) }

// Password limits: long enough to resist guessing with rate limiting, short
// enough that hashing cannot be used to exhaust the server.
const (
	MinPassword = 8
	MaxPassword = 256
)
