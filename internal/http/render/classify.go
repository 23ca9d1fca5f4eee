package render

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Class is what an error means to the person or program that caused the
// request: a status, a problem type, a message (a catalogue key and its
// placeholders), the fields at fault, and when to retry.
type Class struct {
	Kind       fault.Kind
	Status     int
	Key        string
	Args       []any
	Fields     []validation.FieldError
	RetryAfter time.Duration
}

// kinds maps each kind to its status and its general message.
var kinds = map[fault.Kind]struct {
	status int
	key    string
}{
	fault.Internal:        {http.StatusInternalServerError, "error.internal"},
	fault.Invalid:         {http.StatusUnprocessableEntity, "error.invalid"},
	fault.NotFound:        {http.StatusNotFound, "error.not_found"},
	fault.Forbidden:       {http.StatusForbidden, "error.forbidden"},
	fault.Conflict:        {http.StatusConflict, "error.conflict"},
	fault.Unavailable:     {http.StatusServiceUnavailable, "error.busy"},
	fault.TooMany:         {http.StatusTooManyRequests, "error.too_many"},
	fault.Malformed:       {http.StatusBadRequest, "error.malformed"},
	fault.TooLarge:        {http.StatusRequestEntityTooLarge, "error.too_large"},
	fault.Unsupported:     {http.StatusUnsupportedMediaType, "error.unsupported"},
	fault.Unauthenticated: {http.StatusUnauthorized, "error.unauthenticated"},
}

// Classify is the one mapping from errors to what the caller is told, used
// by pages and API alike. A domain error says its kind (internal/fault);
// an error of no kind is ours: a 500 whose cause is logged and never shown.
func Classify(err error) Class {
	k := fault.KindOf(err)
	if errors.Is(err, context.DeadlineExceeded) && k == fault.Internal {
		k = fault.Unavailable // a store too slow to answer: busy, not broken
	}
	m := kinds[k]
	c := Class{Kind: k, Status: m.status, Key: m.key}
	if key, args := fault.Message(err); key != "" && k != fault.Internal {
		c.Key, c.Args = key, args
	}
	if ve, ok := validation.As(err); ok {
		c.Fields = ve.Fields
	}
	switch k {
	case fault.Unavailable, fault.TooMany:
		if c.RetryAfter = fault.RetryAfterOf(err); c.RetryAfter <= 0 {
			c.RetryAfter = 2 * time.Second
		}
	}
	return c
}

// retryAfter sets the Retry-After header of c, in whole seconds.
func (c Class) retryAfter(h http.Header) {
	if c.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(c.RetryAfter.Seconds()))))
	}
}

// ProblemType is the problem type URI of a message key: /problems/ and the
// key without its "error." prefix, such as /problems/no-code. GET on it
// (ProblemPage) says what it means.
func ProblemType(key string) string {
	return "/problems/" + strings.ReplaceAll(strings.TrimPrefix(key, "error."), "_", "-")
}

// Problem writes err as RFC 9457 problem details in the request's
// language; a 5xx is logged with its cause.
func (rd *Renderer) Problem(w http.ResponseWriter, r *http.Request, err error) {
	c := Classify(err)
	if c.Status >= 500 && c.Kind != fault.Unavailable {
		rd.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	l := rd.L(r)
	d := problem.Details{Type: ProblemType(c.Key), Title: http.StatusText(c.Status), Status: c.Status,
		Detail: l.T(c.Key, c.Args...), Instance: r.URL.Path, Errors: c.Fields}
	if len(c.Fields) > 0 {
		d.Messages = map[string]string{}
		for _, f := range c.Fields {
			if _, dup := d.Messages[f.Field]; !dup {
				d.Messages[f.Field] = l.Field(f)
			}
		}
	}
	c.retryAfter(w.Header())
	problem.Write(w, d)
}

// Error shows the error page for err, with its status: the page a person
// sees when something cannot be done, saying why in their language.
func (rd *Renderer) Error(w http.ResponseWriter, r *http.Request, p *Page, err error) {
	c := Classify(err)
	if c.Status >= 500 && c.Kind != fault.Unavailable {
		rd.Log.ErrorContext(r.Context(), "page failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if p == nil {
		p = rd.NewPage(w, r, "error.title")
	}
	p.Title = p.L.T("error.title")
	p.Data = p.L.T(c.Key, c.Args...)
	c.retryAfter(w.Header())
	rd.own.Render(w, r, c.Status, "error", p)
}

// Show is the handler of a page that prep prepares: the page name when
// prep succeeds, the error page when it fails.
func (t *Templates) Show(name string, prep func(http.ResponseWriter, *http.Request) (*Page, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := prep(w, r)
		if err != nil {
			t.rd.Error(w, r, p, err)
			return
		}
		t.Render(w, r, http.StatusOK, name, p)
	}
}

// Fail shows the form page form again with the messages beside the fields
// when err carries field errors (422), and the error page otherwise.
func (t *Templates) Fail(w http.ResponseWriter, r *http.Request, p *Page, form string, err error) {
	if ve, ok := validation.As(err); ok && form != "" {
		FieldErrors(p, "", ve)
		t.Render(w, r, http.StatusUnprocessableEntity, form, p)
		return
	}
	t.rd.Error(w, r, p, err)
}

// FieldErrors puts each field error of ve beside its field on p (under
// prefix+field), with the page's "fix the errors" notice.
func FieldErrors(p *Page, prefix string, ve *validation.Errors) {
	for _, f := range ve.Fields {
		if _, dup := p.Errors[prefix+f.Field]; !dup {
			p.Errors[prefix+f.Field] = p.L.Field(f)
		}
	}
	p.Error = p.L.T("form.fix_errors")
}

// ProblemPage says what a problem type means: GET /problems/{type}.
func (rd *Renderer) ProblemPage(w http.ResponseWriter, r *http.Request) {
	key := "error." + strings.ReplaceAll(r.PathValue("type"), "-", "_")
	p := rd.NewPage(w, r, "error.title")
	if !p.L.Has(key) {
		rd.Error(w, r, p, fault.New(fault.NotFound, "error.not_found", "no such problem type"))
		return
	}
	p.Data = p.L.T(key)
	rd.own.Render(w, r, http.StatusOK, "error", p)
}
