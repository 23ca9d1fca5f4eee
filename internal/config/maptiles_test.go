package config

import (
	"strings"
	"testing"
)

func TestPublicSettings(t *testing.T) {
	c := Default()
	if c.PublicPerMinute != 60 || c.MapTiles != "" {
		t.Fatalf("defaults: %d, %q", c.PublicPerMinute, c.MapTiles)
	}
	env := map[string]string{"OUTBREAK_MAP_TILES": "https://tiles.example.org/{z}/{x}/{y}.png", "OUTBREAK_PUBLIC_PER_MINUTE": "120"}
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.MapTiles != env["OUTBREAK_MAP_TILES"] || c.PublicPerMinute != 120 || c.Validate() != nil {
		t.Fatalf("from env: %q, %d, %v", c.MapTiles, c.PublicPerMinute, c.Validate())
	}
	for _, u := range []string{"https://{s}.tile.example.org/{z}/{x}/{y}.png", "http://10.0.0.5:8081/tiles/{z}/{x}/{y}.png", "/tiles/{z}/{x}/{y}.png"} {
		if !ValidTileURL(u) {
			t.Errorf("%q refused", u)
		}
	}
	for _, u := range []string{"https://tiles.example.org/{z}/{x}.png", "ftp://x/{z}/{x}/{y}", "//x/{z}/{x}/{y}", "https:///{z}/{x}/{y}",
		"https://a.org/{z}/{x}/{y}.png; script-src *", "https://a.org/{z}/{x}/{y}'", "javascript:{z}{x}{y}", "https://u@a.org/{z}/{x}/{y}"} {
		if ValidTileURL(u) {
			t.Errorf("%q accepted", u)
		}
	}
	c.MapTiles, c.PublicPerMinute = "tiles", 0
	err := c.Validate()
	for _, want := range []string{"map tiles", "public per minute"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestPublicURL(t *testing.T) {
	c := Default()
	if c.PublicURL != "" {
		t.Fatalf("default public URL %q", c.PublicURL)
	}
	env := map[string]string{"OUTBREAK_PUBLIC_URL": "https://jiankang.example.gov.cn/wuhan"}
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil || c.PublicURL != env["OUTBREAK_PUBLIC_URL"] || c.Validate() != nil {
		t.Fatalf("from env: %q, %v", c.PublicURL, c.Validate())
	}
	for _, u := range []string{"https://jiankang.example.gov.cn", "http://10.0.0.5:8080", "https://x.org/a/b"} {
		if !ValidPublicURL(u) {
			t.Errorf("%q refused", u)
		}
	}
	for _, u := range []string{"jiankang.example.gov.cn", "https://x.org/", "https://x.org?a=1", "https://x.org#top", "ftp://x.org",
		"https://u:p@x.org", "https://x.org/a b", "https://x.org/\"onload=\"", "https://", "javascript:alert(1)", "https://x.org/?"} {
		if ValidPublicURL(u) {
			t.Errorf("%q accepted", u)
		}
	}
	c.PublicURL = "https://x.org/"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Errorf("Validate() = %v", err)
	}
}

func TestCheckInLimits(t *testing.T) {
	c := Default()
	if c.CheckInConcurrency != 0 || c.CheckInsPerMinute != 120 || c.Validate() != nil {
		t.Fatalf("defaults: %d, %d, %v", c.CheckInConcurrency, c.CheckInsPerMinute, c.Validate())
	}
	env := map[string]string{"OUTBREAK_CHECKIN_CONCURRENCY": "32", "OUTBREAK_CHECKINS_PER_MINUTE": "30"}
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil || c.CheckInConcurrency != 32 || c.CheckInsPerMinute != 30 {
		t.Fatalf("from env: %d, %d, %v", c.CheckInConcurrency, c.CheckInsPerMinute, err)
	}
	c.CheckInConcurrency, c.CheckInsPerMinute = -1, 0
	err := c.Validate()
	for _, want := range []string{"check-in concurrency", "check-ins per minute"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestTracingIndex(t *testing.T) {
	for _, tc := range []struct {
		db, index, wantErr string
	}{
		{"sqlite:x.db", "", ""},
		{"sqlite:x.db", "memory", ""},
		{"sqlite:x.db", "off", ""},
		{"postgres://h/db", "", ""},
		{"postgres://h/db", "off", ""},
		{"postgres://h/db", "memory", "only on the embedded SQLite store"},
		{"sqlite:x.db", "disk", `tracing index "disk"`},
	} {
		c := Default()
		env := map[string]string{"OUTBREAK_DB": tc.db, "OUTBREAK_TRACING_INDEX": tc.index}
		if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		err := c.Validate()
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s with index %q: Validate() = %v, want %q", tc.db, tc.index, err, tc.wantErr)
		}
	}
}
