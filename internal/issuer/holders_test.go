package issuer_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/pass"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

// TestHolders checks the record of whose holder id a pass carried: written
// once a day per resident, found for a pass seen that day or the next,
// unknown otherwise, and purged by day.
func TestHolders(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		v, _ := vault.New(bytes.Repeat([]byte{7}, 32))
		cst := time.FixedZone("CST", 8*3600)
		now := time.Date(2020, 2, 10, 23, 30, 0, 0, cst) // 15:30 UTC: a day ahead in the region
		is := &issuer.Issuer{DB: d, Vault: v, Region: "4201", Now: func() time.Time { return now }}
		if err := is.Ensure(ctx); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, _, err := is.IssueTo(ctx, 42, "张大伟", pass.Green); err != nil {
				t.Fatal(err)
			}
		}
		_, claims, err := is.IssueTo(ctx, 43, "李娜", pass.Yellow)
		if err != nil {
			t.Fatal(err)
		}
		var rows int
		if err := db.Get(ctx, d.R, &rows, "SELECT count(*) FROM pass_holders"); err != nil || rows != 2 {
			t.Fatalf("pass_holders rows: %d, %v; want one per resident and day", rows, err)
		}
		h42 := is.HolderID(42, now)
		for _, seen := range []time.Time{now, now.Add(20 * time.Hour)} { // the same day; the next
			if id, err := is.ResidentOf(ctx, h42, seen); err != nil || id != 42 {
				t.Errorf("resident of %s seen %v: %d, %v", h42, seen, id, err)
			}
		}
		if id, err := is.ResidentOf(ctx, claims.Holder, now.UTC()); err != nil || id != 43 {
			t.Errorf("resident of the pass's holder, seen at a UTC time: %d, %v", id, err)
		}
		if _, err := is.ResidentOf(ctx, h42, now.Add(50*time.Hour)); !errors.Is(err, issuer.ErrUnknownHolder) {
			t.Errorf("seen two days later: %v", err)
		}
		if _, err := is.ResidentOf(ctx, is.HolderID(44, now), now); !errors.Is(err, issuer.ErrUnknownHolder) {
			t.Errorf("a holder id never issued: %v", err)
		}
		// The next day: a new row; purging the day before leaves it.
		now = now.Add(24 * time.Hour)
		if _, _, err := is.IssueTo(ctx, 42, "张大伟", pass.Green); err != nil {
			t.Fatal(err)
		}
		n, err := is.PurgeHolders(ctx, civil.Of(now))
		if err != nil || n != 2 {
			t.Fatalf("purged %d, %v; want the 2 rows of the day before", n, err)
		}
		if id, err := is.ResidentOf(ctx, is.HolderID(42, now), now); err != nil || id != 42 {
			t.Errorf("after the purge, today's holder: %d, %v", id, err)
		}
	})
}
