package auth_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/auth"
)

// FuzzClientIP reads arbitrary X-Forwarded-For headers from a trusted
// proxy and from any other peer. It must not panic; from an untrusted peer
// the answer is the peer, whatever the header says; from the proxy it is
// an address (the header's last, or the proxy's own).
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"198.18.0.1", "1.2.3.4, 198.18.0.1", " ::1 ", "", ",", "fe80::1%eth0", "999.1.1.1", "a, b, 10.0.0.1,"} {
		f.Add(s)
	}
	c := auth.ClientIP{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Forwarded-For", xff)
		r.RemoteAddr = "192.0.2.7:1234"
		if got := c.Of(r); got != "192.0.2.7" {
			t.Fatalf("untrusted peer, X-Forwarded-For %q: client %q", xff, got)
		}
		r.RemoteAddr = "10.1.2.3:1234"
		if _, err := netip.ParseAddr(c.Of(r)); err != nil {
			t.Fatalf("trusted proxy, X-Forwarded-For %q: client %q is no address", xff, c.Of(r))
		}
	})
}
