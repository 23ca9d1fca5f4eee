// Package fault gives the domain's errors a kind: invalid input, not found,
// forbidden, conflict, unavailable, too many requests. A domain package
// returns (or wraps) an error of a kind; one classifier in internal/http/render
// maps the kind to an HTTP status and a problem type, for pages and API alike,
// so that no handler decides a status by itself.
package fault

import (
	"errors"
	"fmt"
	"time"
)

// Kind is what sort of failure an error is, as a caller sees it.
type Kind uint8

const (
	// Internal is a failure on our side: a bug, a store down. Its cause is
	// logged and never shown.
	Internal Kind = iota
	// Invalid is input that breaks a rule (validation.Errors carry the
	// fields).
	Invalid
	// NotFound is something that does not exist, or not for this reader
	// (out of scope reads look the same as missing ones).
	NotFound
	// Forbidden is an action the actor's role or relation may not take.
	Forbidden
	// Conflict is a change that clashes with the stored state (a duplicate,
	// a version in force, an answer already given).
	Conflict
	// Unavailable is a service too busy or not ready; the caller may retry.
	Unavailable
	// TooMany is a caller over its rate limit; it may retry later.
	TooMany
	// Malformed is input that cannot be read at all (broken JSON, a body
	// of the wrong type or size), before any rule is applied to it.
	Malformed
	// TooLarge is input over its size limit.
	TooLarge
	// Unsupported is input in a format the endpoint does not take.
	Unsupported
	// Unauthenticated is a request that needs a signed-in account or a
	// valid API token and has neither.
	Unauthenticated
)

var kindNames = [...]string{"internal", "invalid", "not_found", "forbidden", "conflict", "unavailable", "too_many",
	"malformed", "too_large", "unsupported", "unauthenticated"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is a domain error of a kind. Key is the message catalogue key that
// words it for people ("" means the kind's general message); Args fill the
// message's placeholders. Err, when set, is the cause: wrapped, logged,
// never shown.
type Error struct {
	Kind Kind
	Key  string
	Args []any
	Msg  string
	Err  error
	// RetryAfter, for Unavailable and TooMany, is when the caller may try
	// again; 0 leaves it to the classifier.
	RetryAfter time.Duration
}

// New returns an error of kind with a catalogue key and a message for logs
// and Error(). Sentinels are made with New and compared with errors.Is.
func New(kind Kind, key, msg string) *Error { return &Error{Kind: kind, Key: key, Msg: msg} }

func (e *Error) Error() string {
	switch {
	case e.Err != nil && e.Msg != "":
		return e.Msg + ": " + e.Err.Error()
	case e.Err != nil:
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// FaultKind reports e's kind (see KindOf).
func (e *Error) FaultKind() Kind { return e.Kind }

// With returns e with the message placeholders args (name, value pairs);
// the result still matches e with errors.Is.
func (e *Error) With(args ...any) error { return &Error{Kind: e.Kind, Key: e.Key, Args: args, Err: e} }

// Message returns the catalogue key and placeholders of the first error in
// err's chain that has one: what a page or a problem detail shows.
func Message(err error) (key string, args []any) {
	for err != nil {
		if e, ok := err.(*Error); ok && e.Key != "" {
			return e.Key, e.Args
		}
		err = errors.Unwrap(err)
	}
	return "", nil
}

// Kinded is any error that knows its kind (validation.Errors, Error).
type Kinded interface{ FaultKind() Kind }

// KindOf returns the kind of the first error in err's chain that has one,
// and Internal when none has.
func KindOf(err error) Kind {
	var k Kinded
	if errors.As(err, &k) {
		return k.FaultKind()
	}
	return Internal
}

// Wrap returns err with kind and key in front of it: the kind and message
// that the caller shows, and err kept as the logged cause.
func Wrap(kind Kind, key string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: kind, Key: key, Err: err}
}

// Limited returns a TooMany error that may be retried after wait, worded
// by key ("" for the general "too many requests").
func Limited(key string, wait time.Duration) error {
	if key == "" {
		key = "error.too_many"
	}
	return &Error{Kind: TooMany, Key: key, Msg: "rate limited", RetryAfter: wait}
}

// RetryAfterOf returns the first RetryAfter in err's chain, 0 if none.
func RetryAfterOf(err error) time.Duration {
	for err != nil {
		if e, ok := err.(*Error); ok && e.RetryAfter > 0 {
			return e.RetryAfter
		}
		err = errors.Unwrap(err)
	}
	return 0
}

// The kinds' common sentinels, for errors that need no words of their own.
var (
	ErrForbidden   = New(Forbidden, "error.forbidden", "not allowed")
	ErrUnavailable = New(Unavailable, "error.busy", "unavailable")
)
