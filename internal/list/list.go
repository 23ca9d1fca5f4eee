// Package list is how every list a person reads is asked for and answered:
// a page (an offset and a limit) in, that page's rows and the total of the
// whole list out. Nothing is cut at an arbitrary count without saying so:
// the total always tells how many there are.
package list

import "github.com/outbreak-platform/outbreak/internal/validation"

// Limits of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page is which rows of a list to return.
type Page struct {
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// First is the first page of DefaultLimit rows.
var First = Page{Limit: DefaultLimit}

// All asks for every row, for an export: callers walk it MaxLimit at a time.
var All = Page{Limit: MaxLimit}

// Norm returns p with its limit within 1..MaxLimit (DefaultLimit when not
// set) and its offset at least 0.
func (p Page) Norm() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultLimit
	}
	p.Limit = min(p.Limit, MaxLimit)
	p.Offset = max(p.Offset, 0)
	return p
}

// Validate reports an offset or limit out of range as field errors.
func (p Page) Validate() error {
	var e validation.Errors
	if p.Offset < 0 {
		e.Add("offset", "list.offset")
	}
	if p.Limit < 0 || p.Limit > MaxLimit {
		e.Add("limit", "list.limit", "max", MaxLimit)
	}
	return e.Err()
}

// Next is the page after p.
func (p Page) Next() Page { return Page{Offset: p.Offset + p.Limit, Limit: p.Limit} }

// Of is one page of a list with the total of the whole list.
type Of[T any] struct {
	Items []T   `json:"items"`
	Total int64 `json:"total"`
	Page
}

// New returns the page p of a list of total rows holding items (never nil,
// so that JSON says [] for none).
func New[T any](items []T, total int64, p Page) Of[T] {
	if items == nil {
		items = []T{}
	}
	return Of[T]{Items: items, Total: total, Page: p}
}

// More reports whether rows follow this page.
func (o Of[T]) More() bool { return int64(o.Offset+len(o.Items)) < o.Total }

// Map returns o with each item turned by f.
func Map[T, U any](o Of[T], f func(T) U) Of[U] {
	out := make([]U, len(o.Items))
	for i, it := range o.Items {
		out[i] = f(it)
	}
	return Of[U]{Items: out, Total: o.Total, Page: o.Page}
}

// Every walks a whole list MaxLimit rows at a time, for an export, and
// returns all its rows. It stops at the total read with the first page, so
// that rows added meanwhile do not make it run on.
func Every[T any](fetch func(Page) (Of[T], error)) ([]T, error) {
	var out []T
	p := All
	for {
		o, err := fetch(p)
		if err != nil {
			return nil, err
		}
		out = append(out, o.Items...)
		if !o.More() || len(o.Items) == 0 {
			return out, nil
		}
		p = p.Next()
	}
}
