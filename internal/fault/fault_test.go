package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOf(t *testing.T) {
	busy := New(Unavailable, "error.busy", "busy")
	for _, c := range []struct {
		err  error
		want Kind
	}{
		{nil, Internal},
		{errors.New("disk on fire"), Internal},
		{busy, Unavailable},
		{fmt.Errorf("sign-in: %w", busy), Unavailable},
		{busy.With("seconds", 2), Unavailable},
		{Wrap(Conflict, "error.conflict", errors.New("unique")), Conflict},
		{fmt.Errorf("healthcode: %w", ErrForbidden), Forbidden},
	} {
		if got := KindOf(c.err); got != c.want {
			t.Errorf("KindOf(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestMessage(t *testing.T) {
	base := New(NotFound, "error.no_code", "no code yet")
	err := fmt.Errorf("pass: %w", base.With("name", "Li"))
	if !errors.Is(err, base) {
		t.Fatal("With lost the sentinel")
	}
	key, args := Message(err)
	if key != "error.no_code" || len(args) != 2 || args[1] != "Li" {
		t.Fatalf("Message = %q %v", key, args)
	}
	if err.Error() != "pass: no code yet" {
		t.Fatalf("Error() = %q", err.Error())
	}
	if key, _ := Message(errors.New("plain")); key != "" {
		t.Fatalf("a plain error has key %q", key)
	}
}
