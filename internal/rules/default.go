package rules

import (
	_ "embed"
	"sync"
)

// defaultYAML is the default rule file, default.yaml.
//
//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns a copy of the default rule file, for an authority to
// start its own from.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

var defaultSet = sync.OnceValues(func() (*RuleSet, error) { return Parse(defaultYAML) })

// Default returns the default rule set. The error is never non-nil in a
// released build: the package's tests parse the embedded file.
func Default() (*RuleSet, error) { return defaultSet() }
