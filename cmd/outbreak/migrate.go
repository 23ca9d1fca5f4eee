package main

import (
	"context"
	"fmt"

	"github.com/outbreak-platform/outbreak/internal/db"
)

func migrateCmd(ctx context.Context, args []string) error {
	fs := newFlags("migrate", "Apply the store's pending schema migrations (serve does this too at start).")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, cfg.DB, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	applied, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Println("store is up to date")
		return nil
	}
	fmt.Printf("applied migrations %v to %s\n", applied, d.Dialect)
	return nil
}
