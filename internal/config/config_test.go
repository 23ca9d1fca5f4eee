package config

import (
	"strings"
	"testing"
	"time"
)

func TestEnvAndValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	env := map[string]string{"OUTBREAK_DB": "mysql://x", "OUTBREAK_ADDR": "nope", "OUTBREAK_ARGON2_TIME": "x",
		"OUTBREAK_TRUSTED_PROXIES": "127.0.0.1/32, bad", "OUTBREAK_LOG_FORMAT": "xml"}
	err := c.FromEnv(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "OUTBREAK_ARGON2_TIME") || !strings.Contains(err.Error(), "bad") {
		t.Fatalf("FromEnv error = %v", err)
	}
	if len(c.TrustedProxies) != 1 {
		t.Fatalf("proxies = %v", c.TrustedProxies)
	}
	err = c.Validate()
	for _, want := range []string{"db:", "addr", "log format"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestTrustListMaxAge(t *testing.T) {
	c := Default()
	if c.TrustListMaxAge != 7*24*time.Hour {
		t.Errorf("default trust list max age %s; want a week", c.TrustListMaxAge)
	}
	for v, want := range map[string]string{"48h": "", "1h": "", "720h": "", "59m": "trust list max age", "721h": "trust list max age",
		"0s": "trust list max age", "-1h": "trust list max age", "a week": "OUTBREAK_TRUST_LIST_MAX_AGE"} {
		c := Default()
		err := c.FromEnv(func(k string) string {
			if k == "OUTBREAK_TRUST_LIST_MAX_AGE" {
				return v
			}
			return ""
		})
		if err == nil {
			err = c.Validate()
		}
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", v, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v; want it to mention %q", v, err, want)
		}
		if want == "" {
			if d, _ := time.ParseDuration(v); c.TrustListMaxAge != d {
				t.Errorf("%s read as %s", v, c.TrustListMaxAge)
			}
		}
	}
}

func TestAuditHeadInterval(t *testing.T) {
	if c := Default(); c.AuditHeadInterval != time.Minute {
		t.Errorf("default audit head interval %s; want a minute", c.AuditHeadInterval)
	}
	for v, want := range map[string]string{"30s": "", "1s": "", "24h": "", "0s": "audit head interval", "25h": "audit head interval",
		"500ms": "audit head interval", "often": "OUTBREAK_AUDIT_HEAD_INTERVAL"} {
		c := Default()
		err := c.FromEnv(func(k string) string {
			if k == "OUTBREAK_AUDIT_HEAD_INTERVAL" {
				return v
			}
			return ""
		})
		if err == nil {
			err = c.Validate()
		}
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", v, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v; want it to mention %q", v, err, want)
		}
		if d, _ := time.ParseDuration(v); want == "" && c.AuditHeadInterval != d {
			t.Errorf("%s read as %s", v, c.AuditHeadInterval)
		}
	}
}
