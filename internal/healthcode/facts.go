package healthcode

import (
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/rules"
)

// DeclarationInterval is how often a holder is asked to declare.
const DeclarationInterval = 24 * time.Hour

// Facts turns a person's stored inputs into what the rules read. Visits are
// the regions the holder declared (and their declared locations), each with
// the risk level it had on that day.
func Facts(in *Inputs, risks *RiskMap, now time.Time) rules.Facts {
	f := rules.Facts{Now: now}
	if in == nil {
		return f
	}
	if in.Case != nil {
		f.CaseStatus = rules.CaseStatus(in.Case.Status)
		f.CaseSince = in.Case.Since
	}
	for _, c := range in.Contacts {
		f.Contacts = append(f.Contacts, rules.Contact{Kind: rules.ContactKind(c.Kind), ExposedOn: c.ExposedOn, Evidence: c.Evidence,
			EvidenceZH: c.EvidenceZH.String})
	}
	if len(in.Declarations) > 0 {
		f.Declarations = make([]rules.Declaration, len(in.Declarations))
		for i, d := range in.Declarations {
			f.Declarations[i] = rules.Declaration{At: d.At, TemperatureC: d.TemperatureC, Symptoms: d.Symptoms, ContactWithCase: d.ContactWithCase}
		}
	}
	if l := in.Latest; l != nil {
		f.LatestDeclaration = &rules.Declaration{At: l.At, TemperatureC: l.TemperatureC, Symptoms: l.Symptoms, ContactWithCase: l.ContactWithCase}
		if len(f.Declarations) > 0 && l == &in.Declarations[0] {
			f.LatestDeclaration = &f.Declarations[0]
		}
		if due := l.At.Add(DeclarationInterval); now.After(due) {
			f.DeclarationDueHours = int(now.Sub(due).Hours())
		}
	}
	seen := map[string]bool{}
	visit := func(code string, on civil.Date) {
		key := code + on.String()
		if seen[key] {
			return
		}
		seen[key] = true
		if level := risks.Level(code, on); level != "" {
			f.Visits = append(f.Visits, rules.Visit{RegionCode: code, RegionName: risks.Name(code), Risk: rules.RiskLevel(level), On: on})
		}
	}
	for _, d := range in.Declarations {
		visit(d.LocationCode, civil.Of(d.At.In(now.Location())))
		if d.Kind == "arrival" && risks.Known(d.Origin) {
			visit(d.Origin, d.ArrivalDate) // arriving from a region with a risk level
		}
		for _, v := range d.Visits {
			visit(v.RegionCode, v.On)
		}
	}
	for _, t := range in.Tests {
		f.Tests = append(f.Tests, rules.Test{Kind: rules.TestKind(t.Kind), Result: rules.TestResult(t.Result), SampledOn: t.SampledOn})
	}
	if len(in.Quarantines) > 0 {
		q := in.Quarantines[0] // latest start
		f.Quarantine = &rules.Quarantine{Kind: rules.QuarantineKind(q.Kind), Start: q.Start, End: q.End}
	}
	return f
}
