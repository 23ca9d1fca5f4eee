package main

import (
	"context"
	"errors"
)

func benchCmd(ctx context.Context, args []string) error {
	return errUsage{errors.New("bench: not built yet")}
}
