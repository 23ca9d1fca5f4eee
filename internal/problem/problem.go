// Package problem writes API errors as RFC 9457 problem details: one error
// type carries the status, a message safe to show, the field errors, and
// the internal cause that only the log sees.
package problem

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/validation"
)

// Details is the JSON body of an error response.
type Details struct {
	Type     string                  `json:"type"`
	Title    string                  `json:"title"`
	Status   int                     `json:"status"`
	Detail   string                  `json:"detail,omitempty"`
	Instance string                  `json:"instance,omitempty"`
	Errors   []validation.FieldError `json:"errors,omitempty"`
	// Messages holds each field error's text in the request's language,
	// keyed by field.
	Messages map[string]string `json:"messages,omitempty"`
}

// Error is an error with an HTTP status and a message safe to show.
type Error struct {
	Status     int
	Detail     string
	Fields     []validation.FieldError
	RetryAfter int // seconds; 0: no Retry-After header
	Cause      error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Detail + ": " + e.Cause.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an Error with status and a safe detail message.
func New(status int, detail string) *Error { return &Error{Status: status, Detail: detail} }

// Wrap returns an Error with status, a safe detail and the internal cause.
func Wrap(status int, detail string, cause error) *Error {
	return &Error{Status: status, Detail: detail, Cause: cause}
}

// Write sends err as problem details. Field errors become 422 with one entry
// per field; an *Error keeps its status; anything else is a 500 whose cause
// is logged and not shown. translate, if not nil, words each field error.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, translate func(validation.FieldError) string) {
	var p Details
	var retry int
	var pe *Error
	if ve, ok := validation.As(err); ok {
		p = Details{Status: http.StatusUnprocessableEntity, Detail: "The input is not valid; see errors.", Errors: ve.Fields}
	} else if errors.As(err, &pe) {
		p = Details{Status: pe.Status, Detail: pe.Detail, Errors: pe.Fields}
		retry = pe.RetryAfter
		if pe.Status >= 500 && log != nil {
			log.ErrorContext(r.Context(), "request failed", "status", pe.Status, "err", err)
		}
	} else {
		p = Details{Status: http.StatusInternalServerError, Detail: "Something went wrong on our side; it has been logged."}
		if log != nil {
			log.ErrorContext(r.Context(), "request failed", "err", err)
		}
	}
	if translate != nil && len(p.Errors) > 0 {
		p.Messages = map[string]string{}
		for _, f := range p.Errors {
			if _, dup := p.Messages[f.Field]; !dup {
				p.Messages[f.Field] = translate(f)
			}
		}
	}
	p.Type = "about:blank"
	p.Title = http.StatusText(p.Status)
	p.Instance = r.URL.Path
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(p); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	w.WriteHeader(p.Status)
	w.Write(buf.Bytes())
}
