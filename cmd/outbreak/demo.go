package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
)

func demoCmd(ctx context.Context, args []string) error {
	fs := newFlags("demo", "Fill an empty store with the synthetic demo region (Wuhan): residents in households\nwith dependents, and staff for every role. Every demo login has the password \"demo\".")
	n := fs.Int("residents", 20000, "number of residents to generate")
	seed := fs.Uint64("seed", 2020, "random seed; the same seed gives the same region")
	ifEmpty := fs.Bool("if-empty", false, "do nothing, successfully, when the store already holds people")
	health := fs.Bool("health", true, "also give the region declarations, a few cases and contacts, a high-risk area, and codes")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *n < 1 {
		return errUsage{errors.New("--residents must be at least 1")}
	}
	log := newLogger(cfg)
	d, v, err := openStore(ctx, cfg, log, db.Options{})
	if err != nil {
		return err
	}
	defer d.Close()
	s := demo.Stores{DB: d, Jurisdictions: jurisdiction.NewStore(d), Residents: resident.NewStore(d, v),
		Accounts: account.NewStore(d), Params: cfg.Argon2}
	res, err := demo.Generate(ctx, s, demo.Options{Residents: *n, Seed: *seed, Progress: os.Stderr})
	if errors.Is(err, demo.ErrNotEmpty) && *ifEmpty {
		fmt.Println("the store already holds people: demo region not generated")
		return nil
	}
	if err != nil {
		return err
	}
	if *health {
		codes, err := codeService(ctx, cfg, d, s.Residents)
		if err != nil {
			return err
		}
		codes.Log = log
		actors := map[string]rbac.Actor{}
		for _, name := range []string{"epidemiologist-1", "commander-1"} {
			a, err := s.Accounts.GetByUsername(ctx, name)
			if err != nil {
				return err
			}
			actors[name] = a.Actor()
		}
		if err := demo.Health(ctx, codes, actors, *seed); err != nil {
			return err
		}
	}
	fmt.Printf("demo region generated in %s: %d residents (%d dependents) in %d households, %d communities, %d staff accounts (%.0f residents/s)\n",
		res.Elapsed.Round(1e6), res.Residents, res.Dependents, res.Households, res.Communities, res.StaffAccounts,
		float64(res.Residents)/res.Elapsed.Seconds())
	printDemoLogins(ctx, d)
	return nil
}

// printDemoLogins prints one demo login per role.
func printDemoLogins(ctx context.Context, d *db.DB) {
	var rows []struct {
		Username string `db:"username"`
		Role     string `db:"role"`
		Where    string `db:"name_en"`
	}
	err := db.Select(ctx, d.R, &rows, `SELECT a.username, a.role, COALESCE(j.name_en, '') AS name_en FROM accounts a
		LEFT JOIN jurisdictions j ON j.id = a.jurisdiction_id
		WHERE a.demo AND a.username IN ('resident-1', 'resident-2', 'checkpoint-1', 'community-1', 'clinician-1', 'lab-1',
			'epidemiologist-1', 'commander-1', 'auditor-1', 'admin-1') ORDER BY a.id`)
	if err != nil || len(rows) == 0 {
		return
	}
	fmt.Printf("\nDemo logins (password for all: %q; pattern: resident-N, community-N, epidemiologist-N, ...):\n", demo.Password)
	for _, r := range rows {
		where := r.Where
		if r.Role == "resident" {
			where = "own record and dependents"
		}
		fmt.Printf("  %-18s %-17s %s\n", r.Username, r.Role, where)
	}
	var examples []struct {
		Username string `db:"username"`
		Colour   string `db:"colour"`
	}
	if err := db.Select(ctx, d.R, &examples, `SELECT min(a.username) AS username, c.colour FROM codes c
		JOIN accounts a ON a.resident_id = c.resident_id WHERE c.colour <> 'green' GROUP BY c.colour ORDER BY c.colour`); err == nil {
		for _, e := range examples {
			fmt.Printf("  %-18s %-17s a resident whose code is %s, with the reasons\n", e.Username, "resident", e.Colour)
		}
	}
	fmt.Println()
}
