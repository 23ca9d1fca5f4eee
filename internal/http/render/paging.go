package render

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/civil"

	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// PageOf reads ?offset= and ?limit= (defaulting to the first page of
// list.DefaultLimit rows); values out of range are field errors.
func PageOf(r *http.Request) (list.Page, error) {
	q := r.URL.Query()
	p := list.First
	var e validation.Errors
	num := func(name string, dst *int) {
		if s := strings.TrimSpace(q.Get(name)); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				e.Add(name, "invalid")
				return
			}
			*dst = n
		}
	}
	num("offset", &p.Offset)
	num("limit", &p.Limit)
	if strings.TrimSpace(q.Get("limit")) != "" && p.Limit == 0 {
		e.Add("limit", "list.limit", "max", list.MaxLimit) // asked for, it is 1 to MaxLimit
	}
	if err := e.Err(); err != nil {
		return p, err
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p.Norm(), nil
}

// Pager is what the "pager" partial draws beneath a list: which rows of
// how many are shown, and the links to the pages before and after, which
// keep the list's filters.
type Pager struct {
	Total    int64
	From, To int // 1-based, inclusive; 0, 0 for an empty list
	Prev     string
	Next     string
	// CSV is the link that exports the whole list (with its filters) as
	// CSV, when the list offers it.
	CSV string
}

// PagerOf builds the pager of a page of total rows holding n, for the list
// at r's URL.
func PagerOf(r *http.Request, p list.Page, n int, total int64) Pager {
	pg := Pager{Total: total}
	if n > 0 {
		pg.From, pg.To = p.Offset+1, p.Offset+n
	}
	link := func(offset int) string {
		q := r.URL.Query()
		q.Del("offset")
		if offset > 0 {
			q.Set("offset", strconv.Itoa(offset))
		}
		if p.Limit != list.DefaultLimit {
			q.Set("limit", strconv.Itoa(p.Limit))
		}
		return withQuery(r.URL.Path, q)
	}
	if p.Offset > 0 {
		pg.Prev = link(max(0, p.Offset-p.Limit))
	}
	if int64(p.Offset+n) < total {
		pg.Next = link(p.Offset + p.Limit)
	}
	return pg
}

// Pages is PagerOf for a page of a list.
func Pages[T any](r *http.Request, o list.Of[T]) Pager {
	return PagerOf(r, o.Page, len(o.Items), o.Total)
}

// WithCSV returns pg with the link that exports the list as CSV: the same
// URL with format=csv and no paging.
func (pg Pager) WithCSV(r *http.Request) Pager {
	q := r.URL.Query()
	q.Del("offset")
	q.Del("limit")
	q.Set("format", "csv")
	pg.CSV = withQuery(r.URL.Path, q)
	return pg
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// DateParam reads the query date ?name=YYYY-MM-DD (zero when absent);
// a malformed one is a field error added to e.
func DateParam(r *http.Request, name string, e *validation.Errors) civil.Date {
	s := strings.TrimSpace(r.URL.Query().Get(name))
	if s == "" {
		return civil.Date{}
	}
	d, err := civil.Parse(s)
	if err != nil {
		e.Add(name, "date")
	}
	return d
}
