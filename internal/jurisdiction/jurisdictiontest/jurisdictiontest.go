// Package jurisdictiontest builds the jurisdiction tree the store tests
// share.
package jurisdictiontest

import (
	"context"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
)

// Region creates province 42 (Hubei) > city 4201 (Wuhan) > districts
// 420106 (Wuchang) and 420102 (Jiang'an) > one community each, 420106001
// and 420102001, in d, and returns them by code.
func Region(t testing.TB, d *db.DB) map[string]jurisdiction.Jurisdiction {
	t.Helper()
	s := jurisdiction.NewStore(d)
	out := map[string]jurisdiction.Jurisdiction{}
	for _, n := range []jurisdiction.New{
		{Code: "42", NameZH: "湖北省", NameEN: "Hubei"},
		{Code: "4201", NameZH: "武汉市", NameEN: "Wuhan", ParentCode: "42"},
		{Code: "420106", NameZH: "武昌区", NameEN: "Wuchang", ParentCode: "4201"},
		{Code: "420102", NameZH: "江岸区", NameEN: "Jiang'an", ParentCode: "4201"},
		{Code: "420106001", NameZH: "中南路社区", NameEN: "Zhongnan Road", ParentCode: "420106"},
		{Code: "420102001", NameZH: "大智路社区", NameEN: "Dazhi Road", ParentCode: "420102"},
	} {
		j, err := s.Create(context.Background(), d.W, jurisdiction.All, n)
		if err != nil {
			t.Fatalf("create jurisdiction %s: %v", n.Code, err)
		}
		out[n.Code] = j
	}
	return out
}
