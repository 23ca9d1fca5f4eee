// Package jsonio reads request bodies strictly and writes JSON responses
// whole: the content type is checked, the size capped, unknown fields and
// trailing data refused, and every decoding failure reported with where it is.
package jsonio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/outbreak-platform/outbreak/internal/fault"
)

// MaxBody is the default cap on a request body.
const MaxBody = 64 << 10

// Decode reads exactly one JSON object from r's body into v.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	return DecodeLimit(w, r, v, MaxBody)
}

// DecodeLimit is Decode with a body cap of limit bytes.
func DecodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return fault.New(fault.Unsupported, "error.json_content_type", "jsonio: Content-Type must be application/json")
	}
	return DecodeReader(http.MaxBytesReader(w, r.Body, limit), v)
}

// DecodeReader reads exactly one JSON object from body into v.
func DecodeReader(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return fault.New(fault.Malformed, "error.json_single", "jsonio: the body must hold a single JSON object")
	}
	if hasNUL(reflect.ValueOf(v)) {
		return fault.New(fault.Malformed, "error.json_nul", "jsonio: text holds a NUL character")
	}
	return nil
}

// hasNUL reports whether a decoded value holds a string with a NUL
// character, which no text column can store (PostgreSQL refuses it).
func hasNUL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.IndexByte(v.String(), 0) >= 0
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasNUL(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && hasNUL(v.Field(i)) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if hasNUL(v.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if hasNUL(it.Key()) || hasNUL(it.Value()) {
				return true
			}
		}
	}
	return false
}

// The decoding failures that name where they are.
var (
	errJSONSyntax   = fault.New(fault.Malformed, "error.json_syntax", "jsonio: malformed JSON")
	errJSONType     = fault.New(fault.Malformed, "error.json_type", "jsonio: a field of the wrong type")
	errJSONTooLarge = fault.New(fault.TooLarge, "error.json_too_large", "jsonio: the body is too large")
	errJSONUnknown  = fault.New(fault.Malformed, "error.json_unknown", "jsonio: an unknown field")
)

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &syn):
		return errJSONSyntax.With("Offset", syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fault.New(fault.Malformed, "error.json_short", "jsonio: the body ends too early")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return errJSONType.With("Field", field, "Type", typ.Type.String(), "Offset", typ.Offset)
	case errors.As(err, &maxErr):
		return errJSONTooLarge.With("Limit", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return fault.New(fault.Malformed, "error.json_empty", "jsonio: the body is empty")
	}
	if msg := err.Error(); len(msg) > 21 && msg[:21] == "json: unknown field \"" {
		return errJSONUnknown.With("Field", strings.Trim(msg[20:], `"`))
	}
	// Errors from a field's own UnmarshalJSON (a malformed date, say).
	return &fault.Error{Kind: fault.Malformed, Key: "error.json_value", Err: err}
}

// Write encodes v into a buffer first, so that a failure is a clean error
// and never half a response.
func Write(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return fmt.Errorf("jsonio: encode %T: %w", v, err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}
