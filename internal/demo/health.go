package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// Declarations writes, in bulk, a declaration made today for every
// every-th resident (every = 1: all of them), by the resident or, for a
// dependent, their guardian: mostly well, a few with fever or symptoms.
func Declarations(ctx context.Context, d *db.DB, seed uint64, every int, now time.Time) (int, error) {
	var people []struct {
		ID   int64  `db:"id"`
		Code string `db:"code"`
		By   int64  `db:"by"`
	}
	if err := db.Select(ctx, d.R, &people, `SELECT r.id, j.code, COALESCE(a.id, g.id) AS by FROM residents r
		JOIN jurisdictions j ON j.id = r.community_id
		LEFT JOIN accounts a ON a.resident_id = r.id
		LEFT JOIN accounts g ON g.resident_id = r.guardian_id
		WHERE (r.id - 1) % ? = 0 AND COALESCE(a.id, g.id) IS NOT NULL ORDER BY r.id`, every); err != nil {
		return 0, fmt.Errorf("demo: residents to declare: %w", err)
	}
	var next int64
	if err := db.Get(ctx, d.R, &next, "SELECT COALESCE(max(id), 0) + 1 FROM declarations"); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	symptoms := []string{"", "", "", "", "", "", "", "", "", "", "", "cough", "fever", "sore_throat"}
	cols := []string{"id", "resident_id", "declared_by", "kind", "at", "temperature_c", "symptoms", "contact_with_case", "location_code"}
	for start := 0; start < len(people); start += 20000 {
		batch := people[start:min(start+20000, len(people))]
		rows := make([][]any, len(batch))
		for i, p := range batch {
			temp := 36.0 + float64(rng.IntN(12))/10
			s := symptoms[rng.IntN(len(symptoms))]
			if s == "fever" {
				temp = 37.4 + float64(rng.IntN(12))/10
			}
			rows[i] = []any{next, p.ID, p.By, "daily", now.UTC().Add(-time.Duration(rng.IntN(8*60)) * time.Minute), temp, s, false, p.Code}
			next++
		}
		err := d.InTx(ctx, func(tx *db.Tx) error { return tx.BulkInsert(ctx, "declarations", cols, rows) })
		if err != nil {
			return 0, fmt.Errorf("demo: declarations: %w", err)
		}
	}
	return len(people), nil
}

// Health gives the demo region an epidemic to look at: a third of the
// residents declared today; a few confirmed cases with their close and
// secondary contacts, entered by epidemiologist-1; a high-risk community
// set by commander-1; every code computed.
func Health(ctx context.Context, s *healthcode.Service, actors map[string]rbac.Actor, seed uint64) error {
	now := s.Now()
	today := civil.Of(now)
	if _, err := Declarations(ctx, s.DB, seed, 3, now); err != nil {
		return err
	}
	if err := s.RecomputeAll(ctx, audit.System, healthcode.Because("demo declarations", "history.cause.demo"), nil); err != nil {
		return err
	}
	epi, commander := actors["epidemiologist-1"], actors["commander-1"]
	basis := "Law on the Prevention and Treatment of Infectious Diseases"
	var cases []int64
	if err := db.Select(ctx, s.DB.R, &cases, "SELECT id FROM residents WHERE guardian_id IS NULL AND id % 997 = 500 AND id + 60 <= (SELECT max(id) FROM residents) ORDER BY id LIMIT 4"); err != nil {
		return err
	}
	places := []string{"Jiefang Road Market", "Zhongshan Road Metro Station", "Hanyang Bus Line 526", "Donghu Office Tower"}
	for i, c := range cases {
		since := today.AddDays(-(2 + i))
		if _, err := s.SetCaseStatus(ctx, epi, c, healthcode.CaseStatus{Status: "confirmed", Since: since, Onset: since.AddDays(-1),
			Change: healthcode.Change{Reason: "positive PCR result reported by the designated hospital", LegalBasis: basis}}); err != nil {
			return fmt.Errorf("demo: case %d: %w", c, err)
		}
		for k := int64(1); k <= 4; k++ {
			kind, evidence := "close", fmt.Sprintf("%s on %s, 10:05–10:40, at the same time as a confirmed case", places[i], since.AddDays(-1))
			if k == 4 {
				kind, evidence = "secondary", "household of a close contact"
			}
			if _, err := s.AddContact(ctx, epi, c+k*13, healthcode.Contact{Kind: kind, ExposedOn: since.AddDays(-1), Evidence: evidence,
				SourceCase: c, Change: healthcode.Change{Reason: "traced from a confirmed case", LegalBasis: basis}}); err != nil {
				return fmt.Errorf("demo: contact of case %d: %w", c, err)
			}
		}
	}
	job, err := s.SetRiskArea(ctx, commander, healthcode.RiskArea{JurisdictionCode: "420102003", Level: "high", From: today.AddDays(-5),
		Change: healthcode.Change{Reason: "cluster of cases around a wet market", LegalBasis: "Emergency Response Law"}})
	if err != nil {
		return err
	}
	for job.Status().Finished == nil {
		time.Sleep(20 * time.Millisecond)
	}
	if e := job.Status().Error; e != "" {
		return fmt.Errorf("demo: recompute: %s", e)
	}
	return nil
}
