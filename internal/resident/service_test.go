package resident_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation/validationtest"
)

type logRow struct {
	At             time.Time `db:"at"`
	ActorID        int64     `db:"actor_id"`
	ActorRole      string    `db:"actor_role"`
	ResidentID     int64     `db:"resident_id"`
	JurisdictionID int64     `db:"jurisdiction_id"`
	Action         string    `db:"action"`
	Purpose        string    `db:"purpose"`
}

func accessLog(t *testing.T, d *db.DB) []logRow {
	t.Helper()
	var rows []logRow
	if err := db.Select(context.Background(), d.R, &rows,
		"SELECT at, actor_id, actor_role, resident_id, jurisdiction_id, action, purpose FROM access_log ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	return rows
}

// staff creates a staff account (access_log rows need a real actor) and
// returns it as an actor.
func (f *fixture) staff(t *testing.T, username string, role rbac.Role, code string) rbac.Actor {
	t.Helper()
	j := f.js[code]
	a := account.Account{Username: username, PasswordHash: "unused", Role: role, DisplayName: username, Lang: "zh"}
	a.JurisdictionID.Int64, a.JurisdictionID.Valid = j.ID, true
	id, err := account.NewStore(f.d).Create(context.Background(), f.d.W, a)
	if err != nil {
		t.Fatal(err)
	}
	return rbac.Actor{AccountID: id, Name: username, Role: role, JurisdictionID: j.ID, ScopePath: j.Path}
}

func TestService(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		svc := &resident.Service{DB: d, Residents: f.rs, Access: accesslog.NewStore(d), IDKind: kind}
		idA := cnID("420106", "19900101", "123")
		a := f.add(t, "张三", idA, "13800138000", "420106001", 0, 0)
		b := f.add(t, "张四", cnID("420106", "19920202", "222"), "13800138000", "420106001", 0, 0)
		other := f.add(t, "王六", cnID("420102", "19800404", "441"), "13700137000", "420102001", 0, 0)
		worker := f.staff(t, "worker-106", rbac.CommunityWorker, "420106")
		worker102 := f.staff(t, "worker-102", rbac.CommunityWorker, "420102")
		commander := f.staff(t, "commander", rbac.Commander, "4201")
		lab := f.staff(t, "lab", rbac.LabTechnician, "4201")

		t.Run("read for staff is logged with its purpose", func(t *testing.T) {
			before := len(accessLog(t, d))
			r, err := svc.ReadForStaff(ctx, worker, a.ID, "case_investigation")
			if err != nil || r.ID != a.ID || r.IDNumber != idA {
				t.Fatalf("ReadForStaff = %+v, %v", r, err)
			}
			rows := accessLog(t, d)
			if len(rows) != before+1 {
				t.Fatalf("access log rows %d -> %d, want one more", before, len(rows))
			}
			got := rows[len(rows)-1]
			if got.ActorID != worker.AccountID || got.ActorRole != string(rbac.CommunityWorker) || got.ResidentID != a.ID ||
				got.JurisdictionID != f.js["420106001"].ID || got.Action != "read" || got.Purpose != "case_investigation" {
				t.Fatalf("log row = %+v", got)
			}
			if time.Since(got.At) > time.Minute || time.Until(got.At) > time.Minute {
				t.Fatalf("log time = %v", got.At)
			}
		})

		t.Run("read for staff refuses", func(t *testing.T) {
			before := len(accessLog(t, d))
			if _, err := svc.ReadForStaff(ctx, worker, a.ID, "curiosity"); err == nil {
				t.Error("invalid purpose accepted")
			} else {
				validationtest.WantField(t, err, "purpose", "accesslog.purpose")
			}
			if _, err := svc.ReadForStaff(ctx, worker, a.ID, ""); err == nil {
				t.Error("empty purpose accepted")
			}
			for _, actor := range []rbac.Actor{commander, lab, {Role: rbac.Resident, ResidentID: a.ID, ScopePath: "/"}} {
				if _, err := svc.ReadForStaff(ctx, actor, a.ID, "case_investigation"); !errors.Is(err, fault.ErrForbidden) {
					t.Errorf("ReadForStaff as %s = %v, want fault.ErrForbidden", actor.Role, err)
				}
			}
			if _, err := svc.ReadForStaff(ctx, worker102, a.ID, "case_investigation"); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("ReadForStaff out of scope = %v, want ErrNotFound", err)
			}
			if _, err := svc.ReadForStaff(ctx, worker, 99999, "case_investigation"); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("ReadForStaff unknown = %v, want ErrNotFound", err)
			}
			if after := len(accessLog(t, d)); after != before {
				t.Fatalf("refused reads were logged: %d -> %d", before, after)
			}
		})

		// find searches by ID number or phone, as the look-up did before
		// names and resident numbers.
		find := func(actor rbac.Actor, idNumber, phone, purpose string) ([]resident.Resident, error) {
			found, err := svc.FindForStaff(ctx, actor, resident.Search{IDNumber: idNumber, Phone: phone, Purpose: purpose}, today)
			return found.Items, err
		}

		t.Run("find for staff logs each person found", func(t *testing.T) {
			before := len(accessLog(t, d))
			found, err := find(worker, "", "138-0013 8000", "contact_tracing")
			if err != nil || !sameIDs(found, a, b) {
				t.Fatalf("FindForStaff by phone = %v, %v", ids(found), err)
			}
			rows := accessLog(t, d)
			if len(rows) != before+2 {
				t.Fatalf("access log rows %d -> %d, want two more", before, len(rows))
			}
			for i, want := range []int64{a.ID, b.ID} {
				got := rows[before+i]
				if got.ResidentID != want || got.ActorID != worker.AccountID || got.Action != "lookup" || got.Purpose != "contact_tracing" {
					t.Errorf("log row %d = %+v", i, got)
				}
			}

			// By ID number, given with spaces around it.
			before = len(accessLog(t, d))
			found, err = find(worker, " "+idA+" ", "", "clinical_care")
			if err != nil || !sameIDs(found, a) {
				t.Fatalf("FindForStaff by ID = %v, %v", ids(found), err)
			}
			if rows := accessLog(t, d); len(rows) != before+1 || rows[before].ResidentID != a.ID || rows[before].Purpose != "clinical_care" {
				t.Fatalf("log after find by ID = %+v", rows[before:])
			}
		})

		t.Run("find for staff refuses and finds nothing out of scope", func(t *testing.T) {
			before := len(accessLog(t, d))
			found, err := find(worker102, idA, "", "contact_tracing")
			if err != nil || len(found) != 0 {
				t.Errorf("FindForStaff by ID out of scope = %v, %v", ids(found), err)
			}
			found, err = find(worker102, "", "13800138000", "contact_tracing")
			if err != nil || len(found) != 0 {
				t.Errorf("FindForStaff by phone out of scope = %v, %v", ids(found), err)
			}
			found, err = find(worker, cnID("420106", "19900101", "125"), "", "contact_tracing")
			if err != nil || len(found) != 0 {
				t.Errorf("FindForStaff unknown = %v, %v", ids(found), err)
			}
			_, err = find(worker, " ", " ", "contact_tracing")
			validationtest.WantField(t, err, "q", "required")
			_, err = find(worker, idA, "", "because")
			validationtest.WantField(t, err, "purpose", "accesslog.purpose")
			if _, err := find(commander, idA, "", "contact_tracing"); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("FindForStaff as commander = %v, want fault.ErrForbidden", err)
			}
			if after := len(accessLog(t, d)); after != before {
				t.Fatalf("nothing found but log grew: %d -> %d", before, after)
			}
			found, err = find(worker102, "", "13700137000", "resident_services")
			if err != nil || !sameIDs(found, other) {
				t.Fatalf("FindForStaff in own scope = %v, %v", ids(found), err)
			}
		})

		t.Run("find for staff by name, resident number and the one box", func(t *testing.T) {
			search := func(actor rbac.Actor, q resident.Search) (list.Of[resident.Resident], error) {
				q.Purpose = "contact_tracing"
				return svc.FindForStaff(ctx, actor, q, today)
			}
			for _, tc := range []struct {
				what string
				q    resident.Search
				want []resident.Resident
			}{
				{"part of a name", resident.Search{Name: "张"}, []resident.Resident{a, b}},
				{"exact name first", resident.Search{Q: "张四"}, []resident.Resident{b}},
				{"name in the box", resident.Search{Q: " 张 "}, []resident.Resident{a, b}},
				{"resident number", resident.Search{ResidentID: b.ID}, []resident.Resident{b}},
				{"resident number in the box", resident.Search{Q: strconv.FormatInt(a.ID, 10)}, []resident.Resident{a}},
				{"ID number in the box, lower case", resident.Search{Q: strings.ToLower(idA)}, []resident.Resident{a}},
				{"phone in the box", resident.Search{Q: "138 0013 8000"}, []resident.Resident{a, b}},
				{"full-width phone", resident.Search{Q: "１３８００１３８０００"}, []resident.Resident{a, b}},
				{"out of scope by name", resident.Search{Q: "王六"}, nil},
			} {
				got, err := search(worker, tc.q)
				if err != nil || !sameIDs(got.Items, tc.want...) || got.Total != int64(len(tc.want)) {
					t.Errorf("%s: %v (total %d), %v; want %v", tc.what, ids(got.Items), got.Total, err, ids(tc.want))
				}
			}
			wei := f.add(t, "Wei Li", cnID("420106", "19930303", "333"), "13500135000", "420106001", 0, 0)
			for _, q := range []string{"wei", "LI", "Wei Li", "wei  li"} {
				got, err := search(worker, resident.Search{Q: q})
				if err != nil || !sameIDs(got.Items, wei) {
					t.Errorf("search %q = %v, %v; want Wei Li (%d), whatever the case", q, ids(got.Items), err, wei.ID)
				}
			}
			page, err := search(worker, resident.Search{Q: "张", Page: list.Page{Offset: 1, Limit: 1}})
			if err != nil || page.Total != 2 || !sameIDs(page.Items, b) {
				t.Errorf("page 2 of one = %v (total %d), %v; want [%d] of 2", ids(page.Items), page.Total, err, b.ID)
			}
			past, err := search(worker, resident.Search{Q: "张", Page: list.Page{Offset: 10, Limit: 5}})
			if err != nil || past.Total != 2 || len(past.Items) != 0 {
				t.Errorf("past the end = %v (total %d), %v; want none of 2", ids(past.Items), past.Total, err)
			}
			_, err = search(worker, resident.Search{Q: idA[:17] + "0"})
			validationtest.WantField(t, err, "q", "id.checksum")
			_, err = search(worker, resident.Search{Q: "\u200b"})
			validationtest.WantField(t, err, "q", "resident.search")
			_, err = search(worker, resident.Search{IDNumber: "12345"})
			validationtest.WantField(t, err, "id_number", "id.length")
		})

		t.Run("add dependent", func(t *testing.T) {
			g := f.add(t, "刘一", cnID("420102", "19750505", "551"), "13600136000", "420102001", 0, 0)
			guardian := rbac.Actor{Role: rbac.Resident, ResidentID: g.ID, Name: "刘一"}
			households := f.count(t, "households")
			dep1, err := svc.AddDependent(ctx, guardian, resident.New{Name: "刘小一", IDNumber: cnID("420102", "20190101", "002")}, today)
			if err != nil {
				t.Fatal(err)
			}
			g2, err := f.rs.Get(ctx, "/", g.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !g2.HouseholdID.Valid || f.count(t, "households") != households+1 {
				t.Fatalf("guardian household = %v; households %d -> %d", g2.HouseholdID, households, f.count(t, "households"))
			}
			if dep1.GuardianID.Int64 != g.ID || !dep1.GuardianID.Valid || dep1.HouseholdID != g2.HouseholdID ||
				dep1.CommunityCode != "420102001" || dep1.Phone != "" || dep1.Sex != "F" {
				t.Fatalf("dependent = %+v, guardian household %v", dep1, g2.HouseholdID)
			}
			stored, err := f.rs.Get(ctx, "/", dep1.ID)
			if err != nil || stored.GuardianID != dep1.GuardianID || stored.HouseholdID != g2.HouseholdID {
				t.Fatalf("stored dependent = %+v, %v", stored, err)
			}

			// A second dependent joins the same household.
			dep2, err := svc.AddDependent(ctx, guardian, resident.New{Name: "刘老", IDNumber: cnID("420102", "19380101", "013"), Phone: "13600136001"}, today)
			if err != nil {
				t.Fatal(err)
			}
			if dep2.HouseholdID != g2.HouseholdID || f.count(t, "households") != households+1 {
				t.Fatalf("second dependent household = %v, guardian's %v", dep2.HouseholdID, g2.HouseholdID)
			}
			deps, err := f.rs.Dependents(ctx, g.ID)
			if err != nil || !sameIDs(deps, dep1, dep2) {
				t.Fatalf("Dependents = %v, %v", ids(deps), err)
			}

			// The guardian reads their dependent; nobody else does.
			if r, err := svc.Dependent(ctx, guardian, dep1.ID); err != nil || r.ID != dep1.ID {
				t.Fatalf("Dependent = %+v, %v", r, err)
			}
			stranger := rbac.Actor{Role: rbac.Resident, ResidentID: a.ID}
			if _, err := svc.Dependent(ctx, stranger, dep1.ID); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("Dependent as stranger = %v, want ErrNotFound", err)
			}
			if _, err := svc.Dependent(ctx, guardian, b.ID); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("Dependent of a non-dependent = %v, want ErrNotFound", err)
			}
			if _, err := svc.Dependent(ctx, worker, dep1.ID); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("Dependent as staff = %v, want fault.ErrForbidden", err)
			}

			// A dependent cannot add dependents, nor can staff through this path.
			residents := f.count(t, "residents")
			asDep := rbac.Actor{Role: rbac.Resident, ResidentID: dep1.ID}
			if _, err := svc.AddDependent(ctx, asDep, resident.New{Name: "刘小小", IDNumber: cnID("420102", "20200101", "022")}, today); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("AddDependent by a dependent = %v, want fault.ErrForbidden", err)
			}
			if _, err := svc.AddDependent(ctx, worker102, resident.New{Name: "刘小小", IDNumber: cnID("420102", "20200101", "022")}, today); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("AddDependent by staff = %v, want fault.ErrForbidden", err)
			}
			if got := f.count(t, "residents"); got != residents {
				t.Fatalf("refused dependents were stored: %d -> %d", residents, got)
			}
		})

		t.Run("an invalid dependent leaves no household behind", func(t *testing.T) {
			g := f.add(t, "陈一", cnID("420106", "19770707", "771"), "13300133000", "420106001", 0, 0)
			households, residents := f.count(t, "households"), f.count(t, "residents")
			bad := badCheck(cnID("420106", "20200101", "002"))
			_, err := svc.AddDependent(ctx, rbac.Actor{Role: rbac.Resident, ResidentID: g.ID}, resident.New{Name: "陈小一", IDNumber: bad}, today)
			validationtest.WantField(t, err, "id_number", "id.checksum")
			// A taken ID number fails inside the transaction: the household goes too.
			_, err = svc.AddDependent(ctx, rbac.Actor{Role: rbac.Resident, ResidentID: g.ID}, resident.New{Name: "陈二", IDNumber: idA}, today)
			validationtest.WantField(t, err, "id_number", "resident.id_taken")
			if f.count(t, "households") != households || f.count(t, "residents") != residents {
				t.Fatalf("households %d -> %d, residents %d -> %d", households, f.count(t, "households"), residents, f.count(t, "residents"))
			}
			g2, _ := f.rs.Get(ctx, "/", g.ID)
			if g2.HouseholdID.Valid {
				t.Fatalf("guardian got a household from a failed registration: %v", g2.HouseholdID)
			}
		})

		t.Run("register by staff", func(t *testing.T) {
			n := resident.New{Name: "周八", IDNumber: cnID("420102", "19880808", "881"), CommunityCode: "420102001"}
			_, err := svc.RegisterByStaff(ctx, worker, n, today)
			validationtest.WantField(t, err, "community_code", "resident.community")
			if _, err := svc.RegisterByStaff(ctx, commander, n, today); !errors.Is(err, fault.ErrForbidden) {
				t.Fatalf("RegisterByStaff as commander = %v, want fault.ErrForbidden", err)
			}
			r, err := svc.RegisterByStaff(ctx, worker102, n, today)
			if err != nil || r.ID == 0 || r.CommunityCode != "420102001" || r.IsDependent() {
				t.Fatalf("RegisterByStaff = %+v, %v", r, err)
			}
		})

		t.Run("self", func(t *testing.T) {
			r, err := svc.Self(ctx, rbac.Actor{Role: rbac.Resident, ResidentID: a.ID})
			if err != nil || r.ID != a.ID {
				t.Fatalf("Self = %+v, %v", r, err)
			}
			if _, err := svc.Self(ctx, worker); !errors.Is(err, fault.ErrForbidden) {
				t.Fatalf("Self as staff = %v", err)
			}
			if _, err := svc.Self(ctx, rbac.Actor{Role: rbac.Resident}); !errors.Is(err, fault.ErrForbidden) {
				t.Fatalf("Self without resident = %v", err)
			}
		})
	})
}
