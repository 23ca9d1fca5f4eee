// Package validationtest holds the tests' checks of validation errors.
package validationtest

import (
	"testing"

	"github.com/outbreak-platform/outbreak/internal/validation"
)

// WantField fails t unless err is a validation error naming field with code.
func WantField(t testing.TB, err error, field, code string) {
	t.Helper()
	ve, ok := validation.As(err)
	if !ok {
		t.Fatalf("error = %v, want a validation error %s: %s", err, field, code)
	}
	for _, f := range ve.Fields {
		if f.Field == field && f.Code == code {
			return
		}
	}
	t.Fatalf("error = %v, want field %s: %s", err, field, code)
}
