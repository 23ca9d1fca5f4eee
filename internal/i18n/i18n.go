// Package i18n is the platform's one message catalogue: every text a page,
// an error or a notice shows, in Chinese and English.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/outbreak-platform/outbreak/internal/validation"
)

//go:embed locales/*.json
var locales embed.FS

// Langs the catalogue speaks; the first is the default.
var Langs = []string{"zh", "en"}

// Catalog holds every message.
type Catalog struct {
	bundle *i18n.Bundle
	locs   map[string]*Localizer
	keys   map[string][]string
}

// Load reads the embedded catalogue.
func Load() (*Catalog, error) {
	b := i18n.NewBundle(language.Chinese)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: b, locs: map[string]*Localizer{}, keys: map[string][]string{}}
	// Each language is locales/<lang>.json plus any locales/<part>.<lang>.json,
	// so that a capability can keep its texts in a file of its own.
	for _, l := range Langs {
		files, err := fs.Glob(locales, "locales/*"+l+".json")
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if base := strings.TrimPrefix(f, "locales/"); base != l+".json" && !strings.HasSuffix(base, "."+l+".json") {
				continue
			}
			data, err := fs.ReadFile(locales, f)
			if err != nil {
				return nil, err
			}
			if _, err := b.ParseMessageFileBytes(data, l+".json"); err != nil {
				return nil, fmt.Errorf("i18n: %s: %w", f, err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("i18n: %s: %w", f, err)
			}
			for k := range m {
				c.keys[l] = append(c.keys[l], k)
			}
		}
		c.locs[l] = &Localizer{Lang: l, loc: i18n.NewLocalizer(b, l)}
	}
	return c, nil
}

// Keys lists the message ids of lang.
func (c *Catalog) Keys(lang string) []string { return c.keys[lang] }

// For returns the localizer of lang, falling back to the default.
func (c *Catalog) For(lang string) *Localizer {
	if l, ok := c.locs[lang]; ok {
		return l
	}
	return c.locs[Langs[0]]
}

// Negotiate picks a language from the Accept-Language header.
func Negotiate(r *http.Request) string {
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err == nil {
		for _, t := range tags {
			base, _ := t.Base()
			for _, l := range Langs {
				if base.String() == l {
					return l
				}
			}
		}
	}
	return Langs[0]
}

// Localizer words messages in one language.
type Localizer struct {
	Lang string
	loc  *i18n.Localizer
}

// T returns the message id with its template filled from args, given as
// name, value pairs. A missing message shows its id, so it is seen and fixed.
func (l *Localizer) T(id string, args ...any) string {
	var data map[string]any
	for i := 0; i+1 < len(args); i += 2 {
		if data == nil {
			data = map[string]any{}
		}
		data[fmt.Sprint(args[i])] = args[i+1]
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Field words a validation failure.
func (l *Localizer) Field(f validation.FieldError) string {
	args := make([]any, 0, 2*len(f.Args))
	for k, v := range f.Args {
		args = append(args, k, v)
	}
	return l.T("err."+f.Code, args...)
}

// Role words a role name.
func (l *Localizer) Role(role string) string { return l.T("role." + role) }

// Has reports whether the catalogue has id.
func (l *Localizer) Has(id string) bool {
	_, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil && !strings.HasPrefix(id, " ")
}

// Message is a text to be worded in the reader's language later: a
// catalogue key and its placeholders. Domain packages return messages
// (a reason, a summary) instead of text in one language.
type Message struct {
	Key  string         `json:"key"`
	Args map[string]any `json:"args,omitempty"`
}

// M returns the message key with args given as name, value pairs.
func M(key string, args ...any) Message {
	m := Message{Key: key}
	for i := 0; i+1 < len(args); i += 2 {
		if m.Args == nil {
			m.Args = map[string]any{}
		}
		m.Args[fmt.Sprint(args[i])] = args[i+1]
	}
	return m
}

// Say words m.
func (l *Localizer) Say(m Message) string {
	if m.Key == "" {
		return ""
	}
	args := make([]any, 0, 2*len(m.Args))
	for k, v := range m.Args {
		args = append(args, k, v)
	}
	return l.T(m.Key, args...)
}
