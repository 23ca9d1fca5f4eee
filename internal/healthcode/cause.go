package healthcode

import (
	"fmt"

	"github.com/outbreak-platform/outbreak/internal/i18n"
)

// Cause says why the platform changes codes or records: Text as the audit
// chain records it (English, or a person's own words), and Msg, the message
// (catalogue locales/codes.*.json) that words it for each reader in their
// language, stored as the entry's cause.
type Cause struct {
	Text string
	Msg  i18n.Message
}

// Because is the cause worded by key with args (name, value pairs), and
// recorded as text.
func Because(text, key string, args ...any) Cause {
	return Cause{Text: text, Msg: i18n.M(key, args...)}
}

// TypedCause is a reason a person typed: recorded and shown as typed.
func TypedCause(reason string) Cause { return Because(reason, "history.cause.typed", "Reason", reason) }

// The platform's own causes.
var (
	causeDeclaration = Because("health declaration", "history.cause.declaration")
	causeDaily       = Because("daily re-evaluation", "history.cause.daily")
	causeFirst       = Because("first evaluation", "history.cause.first")
)

// CauseRuleSet is a rule set put in force.
func CauseRuleSet(version string) Cause {
	return Because("rule set "+version, "history.cause.rule_set", "Version", version)
}

// CauseRiskArea is an area's risk level set from a day; the area by its
// names in Chinese and English (a community with its district).
func CauseRiskArea(nameZH, nameEN, level, from string) Cause {
	return Because(fmt.Sprintf("risk level of %s set to %s from %s", nameEN, level, from), "history.cause.risk_area_"+level,
		"AreaZH", nameZH, "AreaEN", nameEN, "From", from)
}
