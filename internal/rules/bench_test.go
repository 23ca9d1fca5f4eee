package rules

import (
	"slices"
	"testing"
)

// typicalFacts is a resident with nothing against them: a recent
// declaration, a few low-risk visits and an old negative test.
func typicalFacts() Facts {
	return Facts{
		Now:               at(10),
		LatestDeclaration: declaredOn(10),
		Visits:            []Visit{visit(8, RiskLow), visit(9, RiskLow), visit(10, RiskLow)},
		Tests:             []Test{pcr(2, TestNegative)},
	}
}

func benchEvaluate(b *testing.B, f Facts, want Colour) {
	rs := defaultRules(b)
	if got := Evaluate(rs, f).Colour; got != want {
		b.Fatalf("colour %s, want %s", got, want)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = Evaluate(rs, f)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

// BenchmarkEvaluate measures Evaluate on one core. "typical" is the common
// case (green); the others build explanations.
func BenchmarkEvaluate(b *testing.B) {
	b.Run("typical", func(b *testing.B) { benchEvaluate(b, typicalFacts(), Green) })
	b.Run("yellow", func(b *testing.B) {
		f := typicalFacts()
		f.Visits = append(f.Visits, visit(4, RiskMedium))
		benchEvaluate(b, f, Yellow)
	})
	b.Run("red", func(b *testing.B) {
		f := typicalFacts()
		f.Contacts = []Contact{closeContact(3), secondaryContact(2)}
		f.LatestDeclaration = feverOn(10, 38.2, SymptomCough)
		benchEvaluate(b, f, Red)
	})
}

// BenchmarkDryRun measures a dry run over a mixed population, per code.
func BenchmarkDryRun(b *testing.B) {
	rs := defaultRules(b)
	pop := make([]Facts, 0, 1000)
	for i := range 1000 {
		f := typicalFacts()
		switch i % 20 {
		case 0:
			f.Contacts = []Contact{closeContact(i % 14)}
		case 1:
			f.Visits = append(f.Visits, visit(i%14, RiskMedium))
		}
		pop = append(pop, f)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = DryRun(rs, rs, slices.Values(pop))
	}
	b.ReportMetric(float64(b.N*len(pop))/b.Elapsed().Seconds(), "codes/s")
}
