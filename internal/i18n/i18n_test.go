package i18n

import (
	"slices"
	"testing"
)

// TestCataloguesAgree checks that every message exists in every language.
func TestCataloguesAgree(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	zh, en := c.Keys("zh"), c.Keys("en")
	if len(zh) < 100 {
		t.Fatalf("only %d messages loaded", len(zh))
	}
	for _, k := range zh {
		if !slices.Contains(en, k) {
			t.Errorf("%q has no English text", k)
		}
	}
	for _, k := range en {
		if !slices.Contains(zh, k) {
			t.Errorf("%q has no Chinese text", k)
		}
	}
	if got := c.For("en").T("staff.total", "Residents", 3, "Dependents", 1); got != "3 residents, of whom 1 dependents" {
		t.Errorf("template = %q", got)
	}
	if got := c.For("xx").T("login.title"); got != "登录" {
		t.Errorf("fallback language = %q", got)
	}
	if got := c.For("en").T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key = %q", got)
	}
}
