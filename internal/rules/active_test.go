package rules

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/fault"
)

// withVersion returns the default file with its version replaced.
func withVersion(t *testing.T, version string) []byte {
	t.Helper()
	old := []byte(`version: "default-2020.1"`)
	if !bytes.Contains(defaultYAML, old) {
		t.Fatal("default.yaml has no version line to replace")
	}
	return bytes.Replace(defaultYAML, old, []byte(`version: "`+version+`"`), 1)
}

// edit replaces old with new in data, failing when old is absent.
func edit(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("no %q to replace", old)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

func TestActiveRefusesBrokenFileAndKeepsPrevious(t *testing.T) {
	def := defaultRules(t)
	a, err := NewActive(def)
	if err != nil {
		t.Fatal(err)
	}
	broken := edit(t, withVersion(t, "2020.2"), "fever: true", "fevr: true")
	prev, err := a.Swap(broken)
	if _, ok := errors.AsType[*ParseError](err); !ok || prev != nil {
		t.Fatalf("Swap(broken) = %v, %v; want nil and a *ParseError", prev, err)
	}
	if !strings.Contains(err.Error(), `unknown condition "fevr"`) {
		t.Errorf("error = %v", err)
	}
	if a.Get() != def {
		t.Fatal("a broken file replaced the rule set in force")
	}
	// A close contact is still red under the rules in force.
	if c := Evaluate(a.Get(), Facts{Now: at(1), Contacts: []Contact{closeContact(0)}}).Colour; c != Red {
		t.Errorf("colour under the kept rules = %s", c)
	}

	next := withVersion(t, "2020.2")
	prev, err = a.Swap(next)
	if err != nil || prev != def {
		t.Fatalf("Swap(next) = %v, %v; want the default and nil", prev, err)
	}
	if got := a.Get().Version(); got != "2020.2" {
		t.Errorf("version in force = %q", got)
	}
}

func TestActiveRefusesChangedRulesUnderTheSameVersion(t *testing.T) {
	a, _ := NewActive(defaultRules(t))
	changed := edit(t, DefaultYAML(), "declaration_overdue_hours: 36", "declaration_overdue_hours: 24")
	if _, err := a.Swap(changed); !errors.Is(err, ErrVersionInUse) || fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "new version") {
		t.Fatalf("Swap(changed, same version) = %v, want a version conflict (409)", err)
	}
	if a.Get() != defaultRules(t) {
		t.Error("rule set in force changed")
	}
	// The same file again is no change and is accepted.
	if _, err := a.Swap(DefaultYAML()); err != nil {
		t.Errorf("Swap(same file) = %v", err)
	}
}

func TestNewActiveNil(t *testing.T) {
	if _, err := NewActive(nil); !errors.Is(err, ErrNoRuleSet) {
		t.Errorf("NewActive(nil) = %v", err)
	}
}

func TestActiveConcurrentSwaps(t *testing.T) {
	a, _ := NewActive(defaultRules(t))
	var wg sync.WaitGroup
	versions := []string{"v1", "v2", "v3", "v4"}
	for _, v := range versions {
		data := withVersion(t, v)
		wg.Go(func() {
			for range 20 {
				if _, err := a.Swap(data); err != nil {
					t.Error(err)
				}
				_ = Evaluate(a.Get(), Facts{Now: at(0)})
			}
		})
	}
	wg.Wait()
	if !slices.Contains(versions, a.Get().Version()) {
		t.Errorf("version in force = %q", a.Get().Version())
	}
}
