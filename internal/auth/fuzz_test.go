package auth

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP reads X-Forwarded-For and the peer address as a hostile
// client or proxy could send them. No input panics; an untrusted peer's
// header is ignored; behind a trusted proxy the answer is the entry the
// proxy appended (the last) or, when that is not an address, the proxy;
// nothing a client puts before it changes the answer; and the answer is a
// canonical address, so one client cannot appear as many to the limits.
func FuzzClientIP(f *testing.F) {
	for _, s := range [][2]string{{"10.0.0.2:4000", "203.0.113.7"}, {"10.0.0.2:4000", "1.1.1.1, 203.0.113.7"},
		{"10.0.0.2:4000", "203.0.113.7, garbage"}, {"[::1]:80", "2001:DB8::1"}, {"10.0.0.2:4000", "::ffff:1.2.3.4"},
		{"198.51.100.1:1", "6.6.6.6"}, {"garbage", "1.2.3.4"}, {"10.0.0.2", "1.2.3.4"}, {"10.0.0.2:4000", ""},
		{"10.0.0.2:4000", ",,,"}, {"10.0.0.2:4000", "fe80::1%eth0"}, {"10.0.0.2:4000", " 001.002.003.004"}} {
		f.Add(s[0], s[1])
	}
	trusted := ClientIP{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	untrusted := ClientIP{}
	of := func(c ClientIP, remote, xff string) string {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		return c.Of(r)
	}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		direct := of(untrusted, remote, "")
		if got := of(untrusted, remote, xff); got != direct {
			t.Fatalf("untrusted peer %q: X-Forwarded-For %q changed the address from %q to %q", remote, xff, direct, got)
		}
		got := of(trusted, remote, xff)
		peer, perr := netip.ParseAddr(direct)
		if perr != nil {
			// Not an address (a unix socket, a test): taken as it is, never from the header.
			if got != direct {
				t.Fatalf("peer %q is no address, yet the header %q gave %q", remote, xff, got)
			}
			return
		}
		if peer.String() != direct {
			t.Fatalf("peer %q read as %q, not canonical", remote, direct)
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.String() != got {
			t.Fatalf("peer %q, X-Forwarded-For %q: %q is not a canonical address", remote, xff, got)
		}
		isTrusted := false
		for _, p := range trusted.Trusted {
			isTrusted = isTrusted || p.Contains(peer)
		}
		parts := strings.Split(xff, ",")
		last, lerr := netip.ParseAddr(strings.TrimSpace(parts[len(parts)-1]))
		switch {
		case !isTrusted || xff == "" || lerr != nil:
			if got != direct {
				t.Fatalf("peer %q (trusted %t), X-Forwarded-For %q: %q, want the peer", remote, isTrusted, xff, got)
			}
		case got != last.String():
			t.Fatalf("trusted peer %q, X-Forwarded-For %q: %q, want the last entry %q", remote, xff, got, last)
		}
		if xff != "" {
			if spoofed := of(trusted, remote, "6.6.6.6, "+xff); spoofed != got {
				t.Fatalf("a client's entry before %q changed the address from %q to %q", xff, got, spoofed)
			}
		}
	})
}
