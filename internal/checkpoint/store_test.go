package checkpoint_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/checkpoint/checkpointtest"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

func TestStore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := checkpoint.NewStore(d)
		wuchang, jiangan, city := checkpointtest.Fixture(t, d)
		day := time.Date(2026, 5, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
		at := day.Add(9 * time.Hour)

		batch := []checkpoint.Passage{checkpointtest.NewPassage(at, "green"), checkpointtest.NewPassage(at, "green"), checkpointtest.NewPassage(at, "red"), checkpointtest.NewPassage(at, "")}
		rec, err := s.Record(ctx, wuchang.Actor, batch, at)
		if err != nil || rec != (checkpoint.Recorded{Received: 4, New: 4}) {
			t.Fatalf("first batch: %+v, %v", rec, err)
		}
		// The same batch again, with one new passage and one twice over.
		again := append(batch, checkpointtest.NewPassage(at.Add(time.Minute), "yellow"))
		again = append(again, again[len(again)-1])
		rec, err = s.Record(ctx, wuchang.Actor, again, at.Add(time.Hour))
		if err != nil || rec != (checkpoint.Recorded{Received: 6, New: 1, Duplicates: 5}) {
			t.Fatalf("batch sent again: %+v, %v", rec, err)
		}
		// Another checkpoint, yesterday and today.
		if _, err := s.Record(ctx, jiangan.Actor, []checkpoint.Passage{checkpointtest.NewPassage(at, "green"), checkpointtest.NewPassage(day.Add(-time.Minute), "green")}, at); err != nil {
			t.Fatal(err)
		}

		var rows int
		if err := db.Get(ctx, d.R, &rows, "SELECT count(*) FROM passages"); err != nil || rows != 7 {
			t.Fatalf("rows = %d, %v; want 7", rows, err)
		}
		var refused struct {
			Holder sql.NullString `db:"holder"`
			Reason sql.NullString `db:"reason"`
			Colour sql.NullString `db:"colour"`
			Juris  int64          `db:"jurisdiction_id"`
			By     int64          `db:"checkpoint_account"`
		}
		if err := db.Get(ctx, d.R, &refused, "SELECT holder, reason, colour, jurisdiction_id, checkpoint_account FROM passages WHERE client_id = ?",
			batch[3].ClientID); err != nil {
			t.Fatal(err)
		}
		if refused.Holder.Valid || refused.Colour.Valid || refused.Reason.String != "bad_signature" || refused.Juris != wuchang.J.ID ||
			refused.By != wuchang.Actor.AccountID {
			t.Fatalf("refused passage stored as %+v", refused)
		}

		next := day.AddDate(0, 0, 1)
		for _, c := range []struct {
			scope string
			want  checkpoint.Summary
		}{
			{wuchang.J.Path, checkpoint.Summary{Green: 2, Yellow: 1, Red: 1, Refused: 1, Total: 5}},
			{jiangan.J.Path, checkpoint.Summary{Green: 1, Total: 1}},
			{city.Path, checkpoint.Summary{Green: 3, Yellow: 1, Red: 1, Refused: 1, Total: 6}},
			{"", checkpoint.Summary{}},
		} {
			got, err := s.Summary(ctx, c.scope, day, next)
			if err != nil || got != c.want {
				t.Errorf("summary of %q = %+v, %v; want %+v", c.scope, got, err, c.want)
			}
		}

		// An actor with no account or no post records nothing.
		if _, err := s.Record(ctx, rbac.Actor{Role: rbac.Checkpoint}, batch, at); !errors.Is(err, checkpoint.ErrNoPost) {
			t.Errorf("record without a post: %v, want ErrNoPost", err)
		}
		// A batch that fails halfway writes nothing.
		bad := []checkpoint.Passage{checkpointtest.NewPassage(at, "green"), checkpointtest.NewPassage(at, "purple")}
		if _, err := s.Record(ctx, wuchang.Actor, bad, at); err == nil {
			t.Error("a passage of colour purple was stored")
		}
		if err := db.Get(ctx, d.R, &rows, "SELECT count(*) FROM passages"); err != nil || rows != 7 {
			t.Fatalf("rows after a failed batch = %d, %v; want 7", rows, err)
		}
	})
}
