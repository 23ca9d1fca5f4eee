package auth

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a token bucket per key (a client address, a username), with
// idle keys forgotten.
type Limiter struct {
	every time.Duration
	burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	l    *rate.Limiter
	last time.Time
}

// NewLimiter allows burst events at once per key, refilled one per every.
func NewLimiter(every time.Duration, burst int) *Limiter {
	return &Limiter{every: every, burst: burst, buckets: map[string]*bucket{}}
}

// Allow reports whether one more event for key is allowed now, and if not,
// how long until it would be.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		idle := l.every * time.Duration(l.burst)
		for k, b := range l.buckets {
			if now.Sub(b.last) > idle {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{l: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.buckets[key] = b
	}
	b.last = now
	res := b.l.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// ClientIP finds the address a request came from. X-Forwarded-For is
// believed only when the direct peer is one of the trusted proxies.
type ClientIP struct{ Trusted []netip.Prefix }

// Of returns r's client address.
func (c ClientIP) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	for _, p := range c.Trusted {
		if p.Contains(peer) {
			if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
				parts := strings.Split(xff, ",")
				if a, err := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1])); err == nil {
					return a.String()
				}
			}
			break
		}
	}
	return peer.String()
}

// InFlight counts the requests each key (a client address) has in flight
// and lets at most max of them run at once: one address cannot take the
// whole server's slots with requests it sends and never finishes.
type InFlight struct {
	max int

	mu sync.Mutex
	n  map[string]int
}

// NewInFlight lets each key have max requests in flight.
func NewInFlight(max int) *InFlight { return &InFlight{max: max, n: map[string]int{}} }

// Enter takes one of key's places, if it has one left, and returns the
// function that gives it back.
func (f *InFlight) Enter(key string) (leave func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= f.max {
		return nil, false
	}
	f.n[key]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.n[key]--; f.n[key] <= 0 {
			delete(f.n, key)
		}
	}, true
}

// Len is how many keys have requests in flight.
func (f *InFlight) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.n)
}

// PeerConns limits the connections each peer address holds open at once,
// on the listener, before a byte of a request is read. Trusted proxies
// (whose peers are many clients) are not limited.
type PeerConns struct {
	net.Listener
	Max     int
	Trusted []netip.Prefix

	mu sync.Mutex
	n  map[netip.Addr]int
}

// Accept returns the next connection whose peer has a place left; the
// connections of a peer at its limit are closed at once.
func (l *PeerConns) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil {
			return c, nil
		}
		peer := ap.Addr().Unmap()
		if l.trusted(peer) {
			return c, nil
		}
		l.mu.Lock()
		if l.n == nil {
			l.n = map[netip.Addr]int{}
		}
		if l.n[peer] >= l.Max {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.n[peer]++
		l.mu.Unlock()
		return &peerConn{Conn: c, l: l, peer: peer}, nil
	}
}

func (l *PeerConns) trusted(a netip.Addr) bool {
	for _, p := range l.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type peerConn struct {
	net.Conn
	l    *PeerConns
	peer netip.Addr
	once sync.Once
}

func (c *peerConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		if c.l.n[c.peer]--; c.l.n[c.peer] <= 0 {
			delete(c.l.n, c.peer)
		}
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
