package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
)

// errChainBroken makes `outbreak audit verify` exit non-zero.
var errChainBroken = errors.New("the audit chain is broken")

func auditCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(os.Stderr, "usage: outbreak audit verify [--db DSN]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errUsage{errors.New("audit: want the subcommand verify")}
	}
	fs := newFlags("audit verify", "Walk the hash-chained audit log and report the first broken link, if any.\nExit status 0 when the chain is intact, 1 when it is broken.")
	cfg, err := loadConfig(fs, args[1:])
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, cfg.DB, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, d, nil)
	if err != nil {
		return err
	}
	if err := printJSON(rep); err != nil {
		return err
	}
	if !rep.OK {
		return errChainBroken
	}
	return nil
}
