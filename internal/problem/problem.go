// Package problem is the JSON shape of an API error: RFC 9457 problem
// details. What goes into one — status, type, message — is decided by
// internal/http/render's classifier, from the error's kind.
package problem

import (
	"bytes"
	"encoding/json"
	"net/http"

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

// Write sends d as application/problem+json with its status.
func Write(w http.ResponseWriter, d Details) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(d); err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(d.Status)
	w.Write(buf.Bytes())
}
