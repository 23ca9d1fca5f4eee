package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// Token is an API token for a machine client. Its secret is shown once, at
// creation, and only its hash is kept.
type Token struct {
	ID               int64        `db:"id" json:"id"`
	PublicID         string       `db:"public_id" json:"public_id"`
	SecretHash       []byte       `db:"secret_hash" json:"-"`
	Name             string       `db:"name" json:"name"`
	Role             rbac.Role    `db:"role" json:"role"`
	JurisdictionID   int64        `db:"jurisdiction_id" json:"-"`
	JurisdictionCode string       `db:"jurisdiction_code" json:"jurisdiction_code"`
	JurisdictionPath string       `db:"jurisdiction_path" json:"-"`
	CreatedBy        int64        `db:"created_by" json:"created_by"`
	CreatedAt        time.Time    `db:"created_at" json:"created_at"`
	ExpiresAt        sql.NullTime `db:"expires_at" json:"-"`
	RevokedAt        sql.NullTime `db:"revoked_at" json:"-"`
	LastUsedAt       sql.NullTime `db:"last_used_at" json:"-"`
}

// Active reports whether t may be used at now.
func (t Token) Active(now time.Time) bool {
	return !t.RevokedAt.Valid && (!t.ExpiresAt.Valid || now.Before(t.ExpiresAt.Time))
}

// Actor is the token as the actor of a request.
func (t Token) Actor() rbac.Actor {
	return rbac.Actor{AccountID: t.CreatedBy, TokenID: t.ID, Name: "token:" + t.Name, Role: t.Role,
		JurisdictionID: t.JurisdictionID, ScopePath: t.JurisdictionPath}
}

// Store keeps accounts, sessions and tokens.
type Store interface {
	Create(ctx context.Context, q db.Q, a Account) (int64, error)
	Get(ctx context.Context, id int64) (Account, error)
	GetByUsername(ctx context.Context, username string) (Account, error)
	// ListStaff lists staff accounts whose jurisdiction lies in scope.
	ListStaff(ctx context.Context, scope string, afterID int64, limit int) ([]Account, error)
	// StaffPage is page p of the staff accounts in scope (of role, when
	// given), newest first, with the total.
	StaffPage(ctx context.Context, scope string, role rbac.Role, p list.Page) (list.Of[Account], error)
	// Update changes role, jurisdiction and disabled flag of a staff account in scope.
	Update(ctx context.Context, q db.Q, scope string, a Account) error
	SetPassword(ctx context.Context, id int64, hash string) error
	SetLang(ctx context.Context, id int64, lang string) error
	InsertBatch(ctx context.Context, tx *db.Tx, as []Account) error

	// CreateSession starts a session and returns its secret token and CSRF token.
	CreateSession(ctx context.Context, accountID int64, ttl time.Duration) (token, csrf string, err error)
	// Session returns the live session's account and CSRF token: not of a
	// disabled account, nor of a demo account once the store is no longer
	// marked as a demo (Authenticate's rule, for sessions begun before).
	Session(ctx context.Context, token string) (Account, string, error)
	DeleteSession(ctx context.Context, token string) error
	DeleteSessionsOf(ctx context.Context, q db.Q, accountID int64) error
	PurgeSessions(ctx context.Context, now time.Time) (int64, error)

	CreateToken(ctx context.Context, t Token) (secret string, _ Token, _ error)
	AuthenticateToken(ctx context.Context, secret string) (Token, error)
	ListTokens(ctx context.Context, scope string) ([]Token, error)
	RevokeToken(ctx context.Context, scope string, id int64) error
}

// NewStore returns the Store on d.
func NewStore(d *db.DB) Store { return &store{d: d} }

type store struct{ d *db.DB }

const accountSelect = `SELECT a.id, a.username, a.password_hash, a.role, a.display_name, a.resident_id, a.jurisdiction_id,
	a.lang, a.demo, a.disabled, a.created_by, a.created_at, j.code AS jurisdiction_code, j.path AS jurisdiction_path
	FROM accounts a LEFT JOIN jurisdictions j ON j.id = a.jurisdiction_id `

func (s *store) Create(ctx context.Context, q db.Q, a Account) (int64, error) {
	defer s.d.Observe("account.create", time.Now())
	id, err := db.InsertID(ctx, q, `INSERT INTO accounts (username, password_hash, role, display_name, resident_id,
		jurisdiction_id, lang, demo, disabled, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.Username, a.PasswordHash, a.Role, a.DisplayName, a.ResidentID, a.JurisdictionID, a.Lang, a.Demo, a.Disabled,
		a.CreatedBy, time.Now().UTC())
	if err != nil {
		return 0, fmt.Errorf("account: create: %w", err)
	}
	return id, nil
}

func (s *store) get(ctx context.Context, where string, arg any) (Account, error) {
	defer s.d.Observe("account.get", time.Now())
	var a Account
	err := db.Get(ctx, s.d.R, &a, accountSelect+where, arg)
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		err = fmt.Errorf("account: get: %w", err)
	}
	return a, err
}

func (s *store) Get(ctx context.Context, id int64) (Account, error) {
	return s.get(ctx, "WHERE a.id = ?", id)
}

func (s *store) GetByUsername(ctx context.Context, username string) (Account, error) {
	if !utf8.ValidString(username) || strings.ContainsRune(username, 0) {
		return Account{}, db.ErrNotFound // PostgreSQL text cannot hold it: no account has it
	}
	return s.get(ctx, "WHERE a.username = ?", username)
}

func (s *store) ListStaff(ctx context.Context, scope string, afterID int64, limit int) ([]Account, error) {
	defer s.d.Observe("account.list_staff", time.Now())
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	lo, hi := jurisdiction.Range(scope)
	var as []Account
	err := db.Select(ctx, s.d.R, &as, accountSelect+"WHERE j.path >= ? AND j.path < ? AND a.id > ? ORDER BY a.id LIMIT ?", lo, hi, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("account: list staff: %w", err)
	}
	return as, nil
}

func (s *store) StaffPage(ctx context.Context, scope string, role rbac.Role, p list.Page) (list.Of[Account], error) {
	defer s.d.Observe("account.staff_page", time.Now())
	p = p.Norm()
	lo, hi := jurisdiction.Range(scope)
	where := "WHERE j.path >= ? AND j.path < ? AND a.role <> 'resident'"
	args := []any{lo, hi}
	if role != "" {
		where += " AND a.role = ?"
		args = append(args, role)
	}
	var total int64
	if err := db.Get(ctx, s.d.R, &total, "SELECT count(*) FROM accounts a JOIN jurisdictions j ON j.id = a.jurisdiction_id "+where, args...); err != nil {
		return list.Of[Account]{}, fmt.Errorf("account: staff page: %w", err)
	}
	var as []Account
	if err := db.Select(ctx, s.d.R, &as, accountSelect+where+" ORDER BY a.id DESC LIMIT ? OFFSET ?", append(args, p.Limit, p.Offset)...); err != nil {
		return list.Of[Account]{}, fmt.Errorf("account: staff page: %w", err)
	}
	return list.New(as, total, p), nil
}

func (s *store) Update(ctx context.Context, q db.Q, scope string, a Account) error {
	defer s.d.Observe("account.update", time.Now())
	lo, hi := jurisdiction.Range(scope)
	res, err := db.Exec(ctx, q, `UPDATE accounts SET role = ?, jurisdiction_id = ?, disabled = ?, display_name = ?
		WHERE id = ? AND role <> 'resident' AND jurisdiction_id IN (SELECT id FROM jurisdictions WHERE path >= ? AND path < ?)`,
		a.Role, a.JurisdictionID, a.Disabled, a.DisplayName, a.ID, lo, hi)
	if err != nil {
		return fmt.Errorf("account: update: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.ErrNotFound
	}
	return nil
}

func (s *store) SetPassword(ctx context.Context, id int64, hash string) error {
	_, err := db.Exec(ctx, s.d.W, "UPDATE accounts SET password_hash = ? WHERE id = ?", hash, id)
	return err
}

func (s *store) SetLang(ctx context.Context, id int64, lang string) error {
	_, err := db.Exec(ctx, s.d.W, "UPDATE accounts SET lang = ? WHERE id = ?", lang, id)
	return err
}

var accountColumns = []string{"username", "password_hash", "role", "display_name", "resident_id", "jurisdiction_id",
	"lang", "demo", "disabled", "created_at"}

// InsertBatch writes accounts whose ids the store assigns.
func (s *store) InsertBatch(ctx context.Context, tx *db.Tx, as []Account) error {
	defer s.d.Observe("account.insert_batch", time.Now())
	rows := make([][]any, len(as))
	for i, a := range as {
		rows[i] = []any{a.Username, a.PasswordHash, string(a.Role), a.DisplayName, a.ResidentID, a.JurisdictionID,
			a.Lang, a.Demo, a.Disabled, a.CreatedAt}
	}
	return tx.BulkInsert(ctx, "accounts", accountColumns, rows)
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func (s *store) CreateSession(ctx context.Context, accountID int64, ttl time.Duration) (string, string, error) {
	defer s.d.Observe("session.create", time.Now())
	token, csrf := randomToken(32), randomToken(24)
	now := time.Now().UTC()
	_, err := db.Exec(ctx, s.d.W, "INSERT INTO sessions (token_hash, account_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		hashSecret(token), accountID, csrf, now, now.Add(ttl))
	if err != nil {
		return "", "", fmt.Errorf("account: create session: %w", err)
	}
	return token, csrf, nil
}

func (s *store) Session(ctx context.Context, token string) (Account, string, error) {
	a, csrf, _, err := s.sessionUntil(ctx, token)
	return a, csrf, err
}

// sessionUntil is Session with the session's expiry, which SessionCache
// keeps an entry no longer than.
func (s *store) sessionUntil(ctx context.Context, token string) (Account, string, time.Time, error) {
	defer s.d.Observe("session.get", time.Now())
	var row struct {
		Account
		CSRF    string    `db:"csrf_token"`
		Expires time.Time `db:"expires_at"`
	}
	err := db.Get(ctx, s.d.R, &row, `SELECT a.id, a.username, a.password_hash, a.role, a.display_name, a.resident_id, a.jurisdiction_id,
		a.lang, a.demo, a.disabled, a.created_by, a.created_at, j.code AS jurisdiction_code, j.path AS jurisdiction_path, s.csrf_token,
		s.expires_at
		FROM sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN jurisdictions j ON j.id = a.jurisdiction_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND NOT a.disabled
			AND (NOT a.demo OR EXISTS (SELECT 1 FROM meta WHERE key = ? AND value = 'true'))`,
		hashSecret(token), time.Now().UTC(), DemoMetaKey)
	if err != nil {
		if !errors.Is(err, db.ErrNotFound) {
			err = fmt.Errorf("account: session: %w", err)
		}
		return Account{}, "", time.Time{}, err
	}
	return row.Account, row.CSRF, row.Expires, nil
}

func (s *store) DeleteSession(ctx context.Context, token string) error {
	_, err := db.Exec(ctx, s.d.W, "DELETE FROM sessions WHERE token_hash = ?", hashSecret(token))
	return err
}

func (s *store) DeleteSessionsOf(ctx context.Context, q db.Q, accountID int64) error {
	_, err := db.Exec(ctx, q, "DELETE FROM sessions WHERE account_id = ?", accountID)
	return err
}

func (s *store) PurgeSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.Exec(ctx, s.d.W, "DELETE FROM sessions WHERE expires_at <= ?", now.UTC())
	if err != nil {
		return 0, fmt.Errorf("account: purge sessions: %w", err)
	}
	return res.RowsAffected()
}

// Token secrets read "obk_" + public id + "_" + secret.
const tokenPrefix = "obk_"

func (s *store) CreateToken(ctx context.Context, t Token) (string, Token, error) {
	defer s.d.Observe("token.create", time.Now())
	pub := make([]byte, 8)
	rand.Read(pub)
	t.PublicID = hex.EncodeToString(pub)
	secret := randomToken(32)
	t.SecretHash = hashSecret(secret)
	t.CreatedAt = time.Now().UTC()
	id, err := db.InsertID(ctx, s.d.W, `INSERT INTO api_tokens (public_id, secret_hash, name, role, jurisdiction_id, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, t.PublicID, t.SecretHash, t.Name, t.Role, t.JurisdictionID, t.CreatedBy, t.CreatedAt, t.ExpiresAt)
	if err != nil {
		return "", Token{}, fmt.Errorf("account: create token: %w", err)
	}
	t.ID = id
	return tokenPrefix + t.PublicID + "_" + secret, t, nil
}

const tokenSelect = `SELECT t.id, t.public_id, t.secret_hash, t.name, t.role, t.jurisdiction_id, j.code AS jurisdiction_code,
	j.path AS jurisdiction_path, t.created_by, t.created_at, t.expires_at, t.revoked_at, t.last_used_at
	FROM api_tokens t JOIN jurisdictions j ON j.id = t.jurisdiction_id `

// ErrBadToken means a token is malformed, unknown, revoked or expired.
var ErrBadToken = errors.New("account: invalid API token")

func (s *store) AuthenticateToken(ctx context.Context, secret string) (Token, error) {
	defer s.d.Observe("token.authenticate", time.Now())
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	pub, sec, ok2 := strings.Cut(rest, "_")
	if _, err := hex.DecodeString(pub); !ok || !ok2 || len(pub) != 16 || err != nil || sec == "" {
		return Token{}, ErrBadToken
	}
	var t Token
	if err := db.Get(ctx, s.d.R, &t, tokenSelect+"WHERE t.public_id = ?", pub); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return Token{}, ErrBadToken
		}
		return Token{}, fmt.Errorf("account: token: %w", err)
	}
	if subtle.ConstantTimeCompare(t.SecretHash, hashSecret(sec)) != 1 || !t.Active(time.Now()) {
		return Token{}, ErrBadToken
	}
	return t, nil
}

func (s *store) ListTokens(ctx context.Context, scope string) ([]Token, error) {
	lo, hi := jurisdiction.Range(scope)
	var ts []Token
	if err := db.Select(ctx, s.d.R, &ts, tokenSelect+"WHERE j.path >= ? AND j.path < ? ORDER BY t.id DESC", lo, hi); err != nil {
		return nil, fmt.Errorf("account: list tokens: %w", err)
	}
	return ts, nil
}

func (s *store) RevokeToken(ctx context.Context, scope string, id int64) error {
	lo, hi := jurisdiction.Range(scope)
	res, err := db.Exec(ctx, s.d.W, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL
		AND jurisdiction_id IN (SELECT id FROM jurisdictions WHERE path >= ? AND path < ?)`, time.Now().UTC(), id, lo, hi)
	if err != nil {
		return fmt.Errorf("account: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return db.ErrNotFound
	}
	return nil
}
