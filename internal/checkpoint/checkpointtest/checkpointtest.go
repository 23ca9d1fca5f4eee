// Package checkpointtest holds what the checkpoint's tests share: a region
// with a checkpoint account in each of two districts, and passages.
package checkpointtest

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

// Post is a checkpoint account at a jurisdiction, as an actor.
type Post struct {
	Actor rbac.Actor
	J     jurisdiction.Jurisdiction
}

// Fixture builds city 4201 > districts 420106 and 420102, with one
// checkpoint account in each district.
func Fixture(t *testing.T, d *db.DB) (wuchang, jiangan Post, city jurisdiction.Jurisdiction) {
	t.Helper()
	ctx := context.Background()
	made := jurisdictiontest.Region(t, d)
	accounts := account.NewStore(d)
	mk := func(username string, j jurisdiction.Jurisdiction) Post {
		id, err := accounts.Create(ctx, d.W, account.Account{Username: username, PasswordHash: "x", Role: rbac.Checkpoint,
			DisplayName: username, Lang: "zh", JurisdictionID: sql.NullInt64{Int64: j.ID, Valid: true}})
		if err != nil {
			t.Fatalf("create %s: %v", username, err)
		}
		a, err := accounts.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return Post{Actor: a.Actor(), J: j}
	}
	return mk("checkpoint-a", made["420106"]), mk("checkpoint-b", made["420102"]), made["4201"]
}

var seq atomic.Int64

// NewPassage returns an accepted passage of colour, or with colour "" a
// refused one.
func NewPassage(seen time.Time, colour string) checkpoint.Passage {
	p := checkpoint.Passage{ClientID: fmt.Sprintf("00000000-0000-4000-8000-%012d", seq.Add(1)), SeenAt: seen, Result: checkpoint.Accepted,
		Holder: "MFRGGZDFMZTWQ2LK", Region: "4201", Colour: colour, KID: "AAAAAAAAAAA"}
	if colour == "" {
		p.Result, p.Reason, p.Holder, p.Region = checkpoint.Refused, "bad_signature", "", ""
	}
	return p
}
