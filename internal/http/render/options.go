package render

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Option is a choice in a select.
type Option struct{ Code, Label string }

// Labels names each jurisdiction of js (a subtree, parents before their
// children) for a person: a community with its district ("Wuchang District
// · Jianshe Road Community": several communities share a name), others by
// their own name.
func Labels(js []jurisdiction.Jurisdiction, lang string) map[string]string {
	byPath := make(map[string]jurisdiction.Jurisdiction, len(js))
	for _, j := range js {
		byPath[j.Path] = j
	}
	out := make(map[string]string, len(js))
	for _, j := range js {
		name := j.Name(lang)
		if j.Level == jurisdiction.Community {
			parent := strings.TrimSuffix(j.Path, j.Code+"/")
			if p, ok := byPath[parent]; ok {
				name = jurisdiction.Label(p.Name(lang), name)
			}
		}
		out[j.Code] = name
	}
	return out
}

// CommunityOptions are the communities of js, each labelled with its
// district.
func CommunityOptions(js []jurisdiction.Jurisdiction, lang string) []Option {
	names := Labels(js, lang)
	var out []Option
	for _, j := range js {
		if j.Level == jurisdiction.Community {
			out = append(out, Option{Code: j.Code, Label: names[j.Code]})
		}
	}
	return out
}

// JurisdictionOptions are the jurisdictions of js at levels, indented by
// depth, communities with their district (Labels): a closed select shows
// only the chosen label, and several communities share a name.
func JurisdictionOptions(js []jurisdiction.Jurisdiction, lang string, levels ...jurisdiction.Level) []Option {
	names := Labels(js, lang)
	var out []Option
	depth := 0
	if len(js) > 0 {
		depth = strings.Count(js[0].Path, "/")
	}
	for _, j := range js {
		for _, l := range levels {
			if j.Level == l {
				out = append(out, Option{Code: j.Code, Label: strings.Repeat(indent, max(0, strings.Count(j.Path, "/")-depth)) + names[j.Code]})
			}
		}
	}
	return out
}

// indent is one level of JurisdictionOptions: two no-break spaces, which a
// select keeps (a "·" would read as part of "District · Community").
const indent = "\u00a0\u00a0"

// ResidentParam reads the resident a holder's request is about: ?resident=
// (or the form's field), 0 for the holder themselves.
func ResidentParam(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("resident")
	if v == "" && r.Method == http.MethodPost {
		v = r.PostFormValue("resident")
	}
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, validation.Field("resident", "invalid")
	}
	return id, nil
}

// PathID reads the path's {id} as a positive number; anything else is not
// found.
func PathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNoSuchID
	}
	return id, nil
}
