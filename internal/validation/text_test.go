package validation_test

import (
	"strings"
	"testing"

	"github.com/outbreak-platform/outbreak/internal/validation"
)

func TestName(t *testing.T) {
	for _, tc := range []struct{ in, want, code string }{
		{" 张三 ", "张三", ""},
		{"Jose\u0301\t Li", "Jos\u00e9 Li", ""},
		{"Jean-Luc O'Brien", "Jean-Luc O'Brien", ""},
		{"\u00a0李\u3000娜\u00a0", "李 娜", ""},
		{"", "", "required"},
		{"\u3000 ", "", "required"},
		{"\u200b", "", "text.invisible"},
		{"\u2060\ufeff", "", "text.invisible"},
		{"a\u200db", "", "text.invisible"},
		{"\u202eevil", "", "text.invisible"},
		{"\ue000", "", "text.invisible"}, // private use
		{"\u0301", "", "name.letter"},
		{"123", "", "name.letter"},
		{"A \u0301", "", "name.mark"},
		{"<b>", "", "text.markup"},
		{"张\xff", "", "text.encoding"},
		{"张\ufffd", "", "text.encoding"},
		{strings.Repeat("张", 61), "", "required_max"},
	} {
		var e validation.Errors
		got := validation.Name(&e, "name", tc.in, validation.MaxNameRunes)
		switch {
		case tc.code == "" && (e.Err() != nil || got != tc.want):
			t.Errorf("Name(%+q) = %+q, %v; want %+q", tc.in, got, e.Err(), tc.want)
		case tc.code != "" && (len(e.Fields) != 1 || e.Fields[0].Code != tc.code):
			t.Errorf("Name(%+q): %v, want %s", tc.in, e.Err(), tc.code)
		}
	}
}

func TestText(t *testing.T) {
	var e validation.Errors
	if got := validation.Text(&e, "reason", " line one\r\nline\u00a0two\n", 100, true, true); got != "line one\nline\u00a0two" || e.Err() != nil {
		t.Errorf("multi-line text = %+q, %v", got, e.Err())
	}
	if got := validation.Text(&e, "note", "  ", 100, false, true); got != "" || e.Err() != nil {
		t.Errorf("optional empty text = %+q, %v", got, e.Err())
	}
	for _, tc := range []struct {
		in        string
		multiline bool
		code      string
	}{
		{"a\vb", true, "text.invisible"},
		{"a\u2028b", true, "text.invisible"},
		{"\u200b", true, "text.invisible"},
		{" \n ", true, "required"},
		{"a<b", false, "text.markup"},
		{strings.Repeat("x", 101), false, "required_max"},
	} {
		var e validation.Errors
		validation.Text(&e, "f", tc.in, 100, true, tc.multiline)
		if len(e.Fields) != 1 || e.Fields[0].Code != tc.code {
			t.Errorf("Text(%+q): %v, want %s", tc.in, e.Err(), tc.code)
		}
	}
}
