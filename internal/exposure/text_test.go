package exposure_test

import (
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/i18n"
)

func TestWindowText(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	en, zh := cat.For("en"), cat.For("zh")
	win := func(from, to time.Time) exposure.Window {
		return exposure.Window{Date: civil.Of(from), From: from, To: to}
	}
	for _, tc := range []struct {
		w      exposure.Window
		en, zh string
	}{
		{win(at(12, 10, 5), at(12, 12, 40)), "3 May, 10:05–12:40", "5月3日 10:05–12:40"},
		{win(at(12, 23, 0), at(11, 0, 0)), "3 May, 23:00–24:00", "5月3日 23:00–24:00"},
		{win(at(12, 23, 50), at(11, 0, 10)), "3 May 23:50 – 4 May 00:10", "5月3日 23:50 至 5月4日 00:10"},
	} {
		if got := tc.w.Text(en); got != tc.en {
			t.Errorf("en: %q, want %q", got, tc.en)
		}
		if got := tc.w.Text(zh); got != tc.zh {
			t.Errorf("zh: %q, want %q", got, tc.zh)
		}
	}
	if got := exposure.DistanceText(en, 724.6); got != "720 m" {
		t.Errorf("distance = %q", got)
	}
	if got := exposure.DistanceText(zh, 5); got != "10 米" {
		t.Errorf("distance = %q", got)
	}
}
