package checkpoint_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/checkpoint"
	"github.com/outbreak-platform/outbreak/internal/checkpoint/checkpointtest"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// memHolders knows one holder id.
type memHolders map[string]int64

func (m memHolders) ResidentOf(_ context.Context, holder string, _ time.Time) (int64, error) {
	if id, ok := m[holder]; ok {
		return id, nil
	}
	return 0, issuer.ErrUnknownHolder
}

// memCheckIns keeps check-ins by (t_in, client_id), failing while down.
type memCheckIns struct {
	down bool
	kept map[string]tracing.CheckIn
}

func (m *memCheckIns) Ingest(_ context.Context, cs []tracing.CheckIn) (int, error) {
	if m.down {
		return 0, errStore
	}
	n := 0
	for _, c := range cs {
		k := time.Unix(c.TIn, 0).String() + c.ClientID
		if _, ok := m.kept[k]; !ok {
			m.kept[k] = c
			n++
		}
	}
	return n, nil
}

// TestPassagesAtAPlace checks that accepted passages at a place in the
// operator's scope become check-ins of the holder, that a store failing
// after the passages were recorded loses no check-in (the page sends the
// batch again), and that places out of scope, vehicles and unknown places
// are refused.
func TestPassagesAtAPlace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, checkpoint.NewStore)
	var jiangan int64
	if err := db.Get(context.Background(), e.d.R, &jiangan, "SELECT id FROM jurisdictions WHERE code = '420102'"); err != nil {
		t.Fatal(err)
	}
	// Places as the registry holds them: an entrance and a closed shop in
	// the operator's district, a shop in another, a train.
	for _, p := range []struct {
		id              int64
		kind, typ, name string
		jurisdiction    int64
		disabled        bool
		serviceNumber   any
	}{
		{7, "venue", "compound_entrance", "东门", e.op.J.ID, false, nil},
		{8, "venue", "shop", "关门", e.op.J.ID, true, nil},
		{9, "venue", "shop", "江岸", jiangan, false, nil},
		{10, "vehicle", "train", "G1", e.op.J.ID, false, "G1"},
	} {
		lat := any(30.5)
		if p.kind == "vehicle" {
			lat = nil
		}
		if _, err := db.Exec(context.Background(), e.d.W, `INSERT INTO places (id, kind, type, name, address, latitude, longitude,
			jurisdiction_id, service_number, created_by, created_at, disabled) VALUES (?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?)`,
			p.id, p.kind, p.typ, p.name, lat, lat, p.jurisdiction, p.serviceNumber, e.op.Actor.AccountID, e.now, p.disabled); err != nil {
			t.Fatal(err)
		}
	}
	places := venue.NewStore(e.d, nil)
	gate, err := places.Get(context.Background(), 7)
	if err != nil {
		t.Fatal(err)
	}
	far, err := places.Get(context.Background(), 9)
	if err != nil {
		t.Fatal(err)
	}
	sink := &memCheckIns{kept: map[string]tracing.CheckIn{}}
	e.svc.Places = places
	e.svc.Holders = memHolders{"MFRGGZDFMZTWQ2LK": 42}
	e.svc.CheckIns = sink

	at := func(p checkpoint.Passage, place int64) checkpoint.Passage { p.PlaceID = place; return p }
	seen := e.now.Add(-time.Minute)
	stranger := checkpointtest.NewPassage(seen, "green")
	stranger.Holder = "GEZDGNBVGY3TQOJQ" // a pass issued elsewhere
	batch := []checkpoint.Passage{at(checkpointtest.NewPassage(seen, "green"), 7), at(checkpointtest.NewPassage(seen, ""), 7), checkpointtest.NewPassage(seen, "green"),
		at(checkpointtest.NewPassage(seen, "yellow"), 8), at(stranger, 7)}

	// The check-in store fails after the passages are recorded: 500.
	sink.down = true
	if w := e.post(t, e.h.Record, batchJSON(t, batch...)); w.Code != http.StatusInternalServerError {
		t.Fatalf("with the check-in store down: %d %s", w.Code, w.Body)
	}
	var recorded int
	if err := db.Get(context.Background(), e.d.R, &recorded, "SELECT count(*) FROM passages WHERE place_id IS NOT NULL"); err != nil || recorded != 4 {
		t.Fatalf("passages with a place recorded before the check-in store failed: %d, %v", recorded, err)
	}
	// Sent again: the passages are duplicates, the check-in is made once.
	sink.down = false
	for range 2 {
		w := e.post(t, e.h.Record, batchJSON(t, batch...))
		var rec checkpoint.Recorded
		if err := json.Unmarshal(w.Body.Bytes(), &rec); err != nil || w.Code != http.StatusOK || rec.Duplicates != len(batch) {
			t.Fatalf("sent again: %d %s", w.Code, w.Body)
		}
	}
	if len(sink.kept) != 1 {
		t.Fatalf("check-ins: %+v; want one, of the accepted passage at the open entrance", sink.kept)
	}
	for _, c := range sink.kept {
		if c.ResidentID != 42 || c.PlaceID != 7 || c.TIn != seen.Unix() || c.Source != tracing.Passage ||
			c.ClientID != checkpoint.CheckInID(batch[0].ClientID) {
			t.Errorf("check-in %+v", c)
		}
	}

	for _, tc := range []struct {
		what  string
		place int64
	}{{"out of scope", 9}, {"a vehicle", 10}, {"unknown", 11}} {
		w := e.post(t, e.h.Record, batchJSON(t, checkpointtest.NewPassage(seen, "green"), at(checkpointtest.NewPassage(seen, "green"), tc.place)))
		wantProblem(t, w, http.StatusUnprocessableEntity, "passages[1].place_id")
	}
	if !checkpoint.PlaceOK(e.op.Actor, gate) || checkpoint.PlaceOK(e.op.Actor, far) || checkpoint.PlaceOK(rbac.Actor{}, gate) {
		t.Error("PlaceOK")
	}
}
