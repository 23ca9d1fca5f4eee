package web

import "testing"

// Sign-in returns only to paths on this site.
func TestLocalPath(t *testing.T) {
	for s, want := range map[string]bool{
		"/checkin?code=OBP1:ABC": true, "/me": true, "/visit/12": true,
		"": false, "me": false, "//evil.example/": false, "/\\evil.example": false, "https://evil.example/": false,
		"/x\r\nLocation: https://evil.example": false, "/\x00": false,
	} {
		if got := LocalPath(s); got != want {
			t.Errorf("LocalPath(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/me", "//x", "/\\x", "https://x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if LocalPath(s) && (len(s) < 1 || s[0] != '/' || (len(s) > 1 && (s[1] == '/' || s[1] == '\\'))) {
			t.Errorf("LocalPath(%q) let a foreign target through", s)
		}
	})
}
