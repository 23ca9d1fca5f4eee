package config

import (
	"strings"
	"testing"
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
