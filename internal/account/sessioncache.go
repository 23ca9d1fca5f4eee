package account

import (
	"context"
	"sync"
	"time"

	"github.com/outbreak-platform/outbreak/internal/db"
)

// SessionCache is a Store that keeps the sessions it has looked up in
// memory, so that the look-up every signed-in request makes does not wait
// on the store's small reader pool behind the work already admitted (under
// a surge it did, before any request could be turned away).
//
// Whatever this node changes through it is gone from memory at once: a
// sign-out (DeleteSession), the sessions of a disabled account
// (DeleteSessionsOf), an account's role, jurisdiction, disabled flag,
// password or language (Update, SetPassword, SetLang). A change made in a
// transaction is dropped when the transaction commits, and a look-up that
// raced a change is not kept, so no reader refills the cache with the rows
// as they were. What another process changes (another node on the same
// PostgreSQL, a command run beside the server) is seen after at most the
// cache's TTL; no entry outlives its session.
type SessionCache struct {
	Store
	ttl time.Duration
	max int

	mu        sync.RWMutex
	byToken   map[string]cachedSession
	byAccount map[int64][]string
	// epoch counts changes: a look-up begun before one is not kept.
	epoch uint64
}

type cachedSession struct {
	a     Account
	csrf  string
	until time.Time
}

// NewSessionCache keeps up to max sessions of s for up to ttl each.
func NewSessionCache(s Store, ttl time.Duration, max int) *SessionCache {
	return &SessionCache{Store: s, ttl: ttl, max: max, byToken: map[string]cachedSession{}, byAccount: map[int64][]string{}}
}

// Session is Store.Session, from memory when the session was looked up
// less than the TTL ago and nothing of its account has changed since.
func (c *SessionCache) Session(ctx context.Context, token string) (Account, string, error) {
	now := time.Now()
	c.mu.RLock()
	e, ok := c.byToken[token]
	epoch := c.epoch
	c.mu.RUnlock()
	if ok && now.Before(e.until) {
		return e.a, e.csrf, nil
	}
	var (
		a     Account
		csrf  string
		until time.Time
		err   error
	)
	if st, ok := c.Store.(interface {
		sessionUntil(context.Context, string) (Account, string, time.Time, error)
	}); ok {
		a, csrf, until, err = st.sessionUntil(ctx, token)
	} else {
		a, csrf, err = c.Store.Session(ctx, token)
		until = now.Add(c.ttl)
	}
	if err != nil {
		return a, csrf, err
	}
	if limit := now.Add(c.ttl); limit.Before(until) {
		until = limit
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return a, csrf, nil // something changed meanwhile: not kept
	}
	if len(c.byToken) >= c.max {
		clear(c.byToken)
		clear(c.byAccount)
	}
	if _, had := c.byToken[token]; !had {
		c.byAccount[a.ID] = append(c.byAccount[a.ID], token)
	}
	c.byToken[token] = cachedSession{a: a, csrf: csrf, until: until}
	return a, csrf, nil
}

// Len is how many sessions are in memory.
func (c *SessionCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byToken)
}

// forgetToken drops one session.
func (c *SessionCache) forgetToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if e, ok := c.byToken[token]; ok {
		delete(c.byToken, token)
		ts := c.byAccount[e.a.ID]
		for i, t := range ts {
			if t == token {
				ts[i] = ts[len(ts)-1]
				ts = ts[:len(ts)-1]
				break
			}
		}
		if len(ts) == 0 {
			delete(c.byAccount, e.a.ID)
		} else {
			c.byAccount[e.a.ID] = ts
		}
	}
}

// forgetAccount drops every session of an account.
func (c *SessionCache) forgetAccount(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, t := range c.byAccount[id] {
		delete(c.byToken, t)
	}
	delete(c.byAccount, id)
}

// afterWrite drops the account's sessions once the write through q is
// kept: when the transaction commits, or now when q is no transaction.
func (c *SessionCache) afterWrite(q db.Q, id int64) {
	if tx, ok := q.(*db.Tx); ok {
		tx.OnCommit(func() { c.forgetAccount(id) })
	}
	c.forgetAccount(id)
}

// DeleteSession ends a session, in the store and in memory.
func (c *SessionCache) DeleteSession(ctx context.Context, token string) error {
	err := c.Store.DeleteSession(ctx, token)
	c.forgetToken(token)
	return err
}

// DeleteSessionsOf ends every session of an account.
func (c *SessionCache) DeleteSessionsOf(ctx context.Context, q db.Q, accountID int64) error {
	err := c.Store.DeleteSessionsOf(ctx, q, accountID)
	c.afterWrite(q, accountID)
	return err
}

// Update changes a staff account; its sessions are read again.
func (c *SessionCache) Update(ctx context.Context, q db.Q, scope string, a Account) error {
	err := c.Store.Update(ctx, q, scope, a)
	c.afterWrite(q, a.ID)
	return err
}

// SetPassword changes an account's password; its sessions are read again.
func (c *SessionCache) SetPassword(ctx context.Context, id int64, hash string) error {
	err := c.Store.SetPassword(ctx, id, hash)
	c.forgetAccount(id)
	return err
}

// SetLang changes an account's language; its sessions are read again.
func (c *SessionCache) SetLang(ctx context.Context, id int64, lang string) error {
	err := c.Store.SetLang(ctx, id, lang)
	c.forgetAccount(id)
	return err
}
