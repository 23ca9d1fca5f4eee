// Package validation carries field-level validation failures from the domain
// packages to the pages (a message beside the field) and the API (problem
// details with one entry per field). A failure names a message-catalogue key
// so that every language gets its own wording.
package validation

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/fault"
)

// FieldError says what is wrong with one field.
type FieldError struct {
	Field string         `json:"field"`
	Code  string         `json:"code"`
	Args  map[string]any `json:"args,omitempty"`
}

func (f FieldError) String() string {
	if len(f.Args) == 0 {
		return f.Field + ": " + f.Code
	}
	return fmt.Sprintf("%s: %s %v", f.Field, f.Code, f.Args)
}

// Errors is every problem found in one input. The zero value is ready to use.
type Errors struct{ Fields []FieldError }

// Add records a problem with field; code is a catalogue key under "err.".
func (e *Errors) Add(field, code string, args ...any) {
	fe := FieldError{Field: field, Code: code}
	for i := 0; i+1 < len(args); i += 2 {
		if fe.Args == nil {
			fe.Args = map[string]any{}
		}
		fe.Args[fmt.Sprint(args[i])] = args[i+1]
	}
	e.Fields = append(e.Fields, fe)
}

// Has reports whether field already has a problem.
func (e *Errors) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err returns e as an error, or nil when nothing was wrong.
func (e *Errors) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// FaultKind makes field errors invalid input wherever they are classified.
func (e *Errors) FaultKind() fault.Kind { return fault.Invalid }

func (e *Errors) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.String()
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Field returns an error with one problem.
func Field(field, code string, args ...any) error {
	var e Errors
	e.Add(field, code, args...)
	return &e
}

// As extracts the field errors from err, if it carries any.
func As(err error) (*Errors, bool) {
	var e *Errors
	ok := errors.As(err, &e)
	return e, ok
}

// Storable reports whether s is text every store can hold: valid UTF-8
// without the NUL character, both of which PostgreSQL refuses.
func Storable(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// PlainText reports whether s is Storable text without control characters
// or angle brackets: what a name, a note or an identifier typed by a person
// may hold, wherever it is printed or shown.
func PlainText(s string) bool {
	return Storable(s) && !strings.ContainsAny(s, "<>") && strings.IndexFunc(s, unicode.IsControl) < 0
}

// StorableValues reports whether every name and value in vs is Storable.
func StorableValues(vs url.Values) bool {
	for k, v := range vs {
		if !Storable(k) {
			return false
		}
		for _, s := range v {
			if !Storable(s) {
				return false
			}
		}
	}
	return true
}
