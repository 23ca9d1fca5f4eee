package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
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
	fs := newFlags("audit verify", "Walk the hash-chained audit log and report the first broken link, if any, and\ncheck the contacts each tracing run's entry commits to against their rows.\nExit status 0 when the chain is intact, 1 when it is broken.")
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
	// The entries that commit to a tracing run's contacts, against the rows.
	contacts, err := healthcode.VerifyContacts(ctx, d)
	if err != nil {
		return err
	}
	out := struct {
		audit.Report
		Contacts healthcode.ContactsReport `json:"contacts"`
	}{rep, contacts}
	if err := printJSON(out); err != nil {
		return err
	}
	if !rep.OK || !contacts.OK {
		return errChainBroken
	}
	return nil
}
