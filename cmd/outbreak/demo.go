package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/demo"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
)

func demoCmd(ctx context.Context, args []string) error {
	fs := newFlags("demo", "Fill an empty store with the synthetic demo region (Wuhan): residents in households\nwith dependents, and staff for every role. Every demo login has the password \"demo\".")
	n := fs.Int("residents", 20000, "number of residents to generate")
	seed := fs.Uint64("seed", 2020, "random seed; the same seed gives the same region")
	ifEmpty := fs.Bool("if-empty", false, "do nothing, successfully, when the store already holds people")
	health := fs.Bool("health", true, "also give the region declarations, a few cases and contacts, a high-risk area, and codes")
	days := fs.Int("days", 14, "days of movement: places, and the residents' check-ins over the days up to today")
	logins := fs.Bool("logins", true, "print one demo login per role at the end (make run leaves that to serve, which prints them when it starts)")
	movement := fs.String("movement", "auto", "generate the movement: yes, no, or auto (when --residents is at most 200,000)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if *n < 1 {
		return errUsage{errors.New("--residents must be at least 1")}
	}
	if *days < 1 || *days > 60 {
		return errUsage{errors.New("--days must be between 1 and 60")}
	}
	var move bool
	switch *movement {
	case "yes":
		move = true
	case "no":
	case "auto":
		move = *n <= 200000
	default:
		return errUsage{fmt.Errorf("--movement must be yes, no or auto, not %q", *movement)}
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
	var scene *demo.Scene
	if move {
		if scene, err = demoMovement(ctx, d, cfg.Loc(), *days, *seed); err != nil {
			return err
		}
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
		if scene != nil {
			if err := scene.MarkSuspects(ctx, codes, actors["epidemiologist-1"]); err != nil {
				return err
			}
		}
	}
	fmt.Printf("demo region generated in %s: %d residents (%d dependents) in %d households, %d communities, %d staff accounts (%.0f residents/s)\n",
		res.Elapsed.Round(1e6), res.Residents, res.Dependents, res.Households, res.Communities, res.StaffAccounts,
		float64(res.Residents)/res.Elapsed.Seconds())
	if *logins {
		printDemoLogins(ctx, d)
	}
	return nil
}

// demoMovement gives the demo region its places and the residents'
// check-ins over the days up to today (in loc), and returns the scripted
// tracing scene.
func demoMovement(ctx context.Context, d *db.DB, loc *time.Location, days int, seed uint64) (*demo.Scene, error) {
	start := time.Now()
	now := time.Now().In(loc)
	m, err := demo.NewMovement(ctx, d, demo.MovementOptions{Days: days, Seed: seed,
		End: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)})
	if err != nil {
		return nil, err
	}
	places, err := m.WritePlaces(ctx, d)
	if err != nil {
		return nil, err
	}
	store, err := tracing.NewStore(d, m.Places, tracing.DefaultPolicy())
	if err != nil {
		return nil, err
	}
	defer store.Close()
	n, err := m.Load(ctx, d, store, 20000, true, os.Stderr)
	if err != nil {
		return nil, err
	}
	fmt.Printf("movement generated in %s: %d places, %d check-ins over %d days\n", time.Since(start).Round(time.Millisecond), places, n, days)
	return m.Scene, nil
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
	printSuspect(ctx, d)
	fmt.Println()
}

// printSuspect names the demo's suspected case whom an epidemiologist can
// confirm to see contact tracing at work, while the case is still only
// suspected.
func printSuspect(ctx context.Context, d *db.DB) {
	id, ok, err := d.Meta(ctx, demo.SceneMetaKey)
	if err != nil || !ok {
		return
	}
	var who []struct {
		Username string     `db:"username"`
		Name     string     `db:"name"`
		ID       int64      `db:"id"`
		Onset    civil.Date `db:"onset"`
	}
	if err := db.Select(ctx, d.R, &who, `SELECT a.username, r.name, r.id, c.onset FROM residents r
		JOIN accounts a ON a.resident_id = r.id JOIN case_status c ON c.resident_id = r.id
		WHERE r.id = ? AND c.status = 'suspected'`, id); err != nil || len(who) == 0 {
		return
	}
	w := who[0]
	fmt.Printf("  %-18s %-17s %s (resident number %d), a suspected case with symptoms since %s: as epidemiologist-1,\n", w.Username, "resident", w.Name, w.ID, w.Onset)
	fmt.Printf("  %-18s %-17s find %d (or the name) under \"Find a person\", open the record and set the case status\n", "", "", w.ID)
	fmt.Printf("  %-18s %-17s to confirmed with that onset, to see tracing find close contacts\n", "", "")
	fmt.Printf("  %-18s %-17s (a restaurant, a train carriage, a shop) and, through them, secondary ones\n", "", "")
}
