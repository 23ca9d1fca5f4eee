package checkin_test

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/checkin"
)

// A place code's text: the prefix, then Base45, whose alphabet has a space
// and a percent sign.
const sample = "OBP1:RRQT 9P60GO07ZCYNS8/1+GP5CKH:K2UCNF6+86DF3$S0OCCJ60%6WNNAJF1U/5$:N0B0UAPVZIZJB:+UF0"

func TestParseScan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ what, text, want string }{
		{"a bare code", sample, sample},
		{"a bare code with spaces around", "  " + sample + "\n", sample},
		{"a URL with the code percent-encoded in its fragment", "https://outbreak.example/checkin#" + url.PathEscape(sample), sample},
		{"a URL with the code in its fragment as it is", "https://outbreak.example/checkin#" + sample, sample},
		{"a URL with the code in its query", "https://outbreak.example/checkin?code=" + url.QueryEscape(sample), sample},
		{"a health pass", "OB1:6BFOXN*TS0BI$ZD4N9", "OB1:6BFOXN*TS0BI$ZD4N9"},
		{"a URL without a code", "https://outbreak.example/checkin#top", "https://outbreak.example/checkin#top"},
		{"nothing", "", ""},
	} {
		if got := checkin.ParseScan(tc.text); got != tc.want {
			t.Errorf("%s: ParseScan(%q) = %q, want %q", tc.what, tc.text, got, tc.want)
		}
	}
	long := "https://x/#" + strings.Repeat("%41", 1000)
	if got := checkin.ParseScan(long); got != long {
		t.Errorf("a scan too long to read is left for the verifier to refuse; got %.40q", got)
	}
}

func TestValidClientID(t *testing.T) {
	t.Parallel()
	for id, ok := range map[string]bool{
		"0b0e3a52-9f3c-4e7b-8a59-1d1f2a3b4c5d": true, "0B0E3A52-9F3C-4E7B-8A59-1D1F2A3B4C5D": false,
		"passage:0b0e3a52-9f3c-4e7b-8a59-1d1f2a3b4c5d": false, "": false, "x": false,
	} {
		if checkin.ValidClientID(id) != ok {
			t.Errorf("ValidClientID(%q) = %v", id, !ok)
		}
	}
}

// FuzzParseScan feeds the scan parser arbitrary text, as a camera or a
// pasted link gives it. It must not panic, must return valid UTF-8 for
// valid input, and returns a place code only when the text holds one.
func FuzzParseScan(f *testing.F) {
	for _, s := range []string{sample, "https://outbreak.example/checkin#" + url.PathEscape(sample), "https://x/checkin?code=" + url.QueryEscape(sample),
		"#OBP1:%ZZ", "?code=OBP1:", "https://x/#%", "", "OBP1:", "\x00#OBP1:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got := checkin.ParseScan(text)
		if utf8.ValidString(text) && !utf8.ValidString(got) {
			t.Fatalf("ParseScan(%q) = %q, not UTF-8", text, got)
		}
		if strings.HasPrefix(got, "OBP1:") && !strings.Contains(text, "OBP1") && !strings.Contains(text, "%") {
			t.Fatalf("ParseScan(%q) = %q: a code from nowhere", text, got)
		}
		if len(got) > len(text) {
			t.Fatalf("ParseScan(%q) = %q: longer than the scan", text, got)
		}
	})
}
