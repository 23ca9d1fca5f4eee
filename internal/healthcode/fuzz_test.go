package healthcode

import (
	"bytes"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// FuzzDeclaration decodes arbitrary bodies as a declaration, strictly as the
// API does, and validates what decodes: no panic, and whatever passes
// validation is within the rules' bounds.
func FuzzDeclaration(f *testing.F) {
	for _, s := range []string{
		`{"temperature_c":36.6,"location_code":"420106001"}`,
		`{"kind":"arrival","temperature_c":37.5,"location_code":"4201","origin":"Beijing","arrival_date":"2020-02-09","transport":"train","symptoms":["fever"]}`,
		`{"temperature_c":1e308,"visits":[{"region_code":"420106","on":"2020-02-01"}]}`,
		`{"symptoms":["fever","fever"]}`, `{"visits":null}`, `{"arrival_date":"2020-13-01"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var d Declaration
		if err := jsonio.DecodeReader(bytes.NewReader(body), &d); err != nil {
			return
		}
		err := d.Validate(today, known)
		if err != nil {
			if _, ok := validation.As(err); !ok {
				t.Fatalf("validation error of the wrong kind: %v", err)
			}
			return
		}
		if d.TemperatureC < 34 || d.TemperatureC > 43 || !known(d.LocationCode) || len(d.Visits) > 50 {
			t.Fatalf("accepted out-of-bounds declaration %+v", d)
		}
		for _, v := range d.Visits {
			if v.On.After(today) || v.On.Before(today.AddDays(-Window)) || !known(v.RegionCode) {
				t.Fatalf("accepted visit %+v", v)
			}
		}
	})
}

// FuzzTestResult decodes arbitrary bodies as a lab's test result, strictly
// as the API does, and validates what decodes: no panic, a failure is a
// field error, and a result that passes has a known kind and result, a
// sample date in the past year, and a reason and legal basis.
func FuzzTestResult(f *testing.F) {
	for _, s := range []string{
		`{"kind":"pcr","result":"positive","sampled_on":"2020-02-09"}`,
		`{"id_number":"42010619800101001X","kind":"antibody","result":"negative","sampled_on":"2020-02-10","reason":"r","legal_basis":"b"}`,
		`{"kind":"pcr","result":"positive","sampled_on":"2020-02-11"}`, `{"sampled_on":"2019-02-09"}`, `{"sampled_on":"2020-02-30"}`,
		`{"kind":1}`, `{}`, `null`, `{"reason":"` + string(bytes.Repeat([]byte("x"), 400)) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in struct {
			IDNumber string `json:"id_number"`
			TestResult
		}
		if err := jsonio.DecodeReader(bytes.NewReader(body), &in); err != nil {
			return
		}
		tr := in.TestResult
		if err := tr.Validate(today); err != nil {
			if _, ok := validation.As(err); !ok {
				t.Fatalf("validation error of the wrong kind: %v", err)
			}
			return
		}
		if tr.Kind != "pcr" && tr.Kind != "antibody" || tr.Result != "negative" && tr.Result != "positive" ||
			tr.SampledOn.IsZero() || tr.SampledOn.After(today) || tr.SampledOn.Before(today.AddDays(-366)) ||
			tr.Reason == "" || tr.LegalBasis == "" {
			t.Fatalf("accepted test result %+v", tr)
		}
	})
}
