package account_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction/jurisdictiontest"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/validation/validationtest"
	"github.com/outbreak-platform/outbreak/internal/vault"
)

var today = civil.Date{Year: 2026, Month: 1, Day: 1}

// cnID makes a valid CN resident ID number.
func cnID(region, birth, seq string) string {
	first17 := region + birth + seq
	return first17 + string(nationalid.CNCheckChar(first17))
}

type env struct {
	d     *db.DB
	js    map[string]jurisdiction.Jurisdiction
	s     account.Store
	rs    resident.Store
	svc   *account.Service
	root  account.Account // admin of the province
	admin account.Account // admin of district 420106
}

func newEnv(t *testing.T, d *db.DB) *env {
	t.Helper()
	v, err := vault.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{d: d, js: jurisdictiontest.Region(t, d), s: account.NewStore(d), rs: resident.NewStore(d, v)}
	e.svc = account.NewService(d, e.s, e.rs, jurisdiction.NewStore(d), cheap, "CN-RIC", 4)
	e.root = staffAccount(t, d, e.s, "root-admin", rbac.Admin, e.js["42"], "root password")
	e.admin = staffAccount(t, d, e.s, "admin-106", rbac.Admin, e.js["420106"], "admin password")
	return e
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		svc := e.svc

		t.Run("right password", func(t *testing.T) {
			for _, name := range []string{"root-admin", "  ROOT-Admin "} {
				a, err := svc.Authenticate(ctx, name, "root password")
				if err != nil || a.ID != e.root.ID || a.JurisdictionPath.String != "/42/" {
					t.Fatalf("Authenticate(%q) = %+v, %v", name, a, err)
				}
			}
		})

		t.Run("refusals all look the same", func(t *testing.T) {
			disabled := staffAccount(t, d, e.s, "gone", rbac.Clinician, e.js["420106"], "gone password")
			disabled.Disabled = true
			if err := e.s.Update(ctx, d.W, jurisdiction.All, disabled); err != nil {
				t.Fatal(err)
			}
			longPW := strings.Repeat("p", account.MaxPassword+1)
			staffAccount(t, d, e.s, "long", rbac.Clinician, e.js["420106"], longPW)
			cases := []struct{ name, user, pw string }{
				{"wrong password", "root-admin", "root passwore"},
				{"empty password", "root-admin", ""},
				{"unknown user", "nobody", "root password"},
				{"empty user", "", ""},
				{"disabled account", "gone", "gone password"},
				{"password too long", "long", longPW},
				{"invalid UTF-8 username", "\xff\xfe", "root password"},
				{"NUL in username", "root-admin\x00", "root password"},
			}
			for _, c := range cases {
				a, err := svc.Authenticate(ctx, c.user, c.pw)
				if !errors.Is(err, account.ErrBadCredentials) || a.ID != 0 {
					t.Errorf("%s: Authenticate = %+v, %v; want ErrBadCredentials", c.name, a, err)
				}
			}
		})

		t.Run("demo accounts only on a demo store", func(t *testing.T) {
			demo := staffAccount(t, d, e.s, "community-1", rbac.CommunityWorker, e.js["420106001"], "demo")
			if _, err := d.W.ExecContext(ctx, d.W.Rebind("UPDATE accounts SET demo = ? WHERE id = ?"), true, demo.ID); err != nil {
				t.Fatal(err)
			}
			if isDemo, err := svc.IsDemoStore(ctx); err != nil || isDemo {
				t.Fatalf("IsDemoStore on a fresh store = %v, %v", isDemo, err)
			}
			if _, err := svc.Authenticate(ctx, "community-1", "demo"); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("demo login on an unmarked store = %v, want ErrBadCredentials", err)
			}
			for _, v := range []string{"false", "TRUE", "1", ""} {
				if err := db.SetMeta(ctx, d.W, account.DemoMetaKey, v); err != nil {
					t.Fatal(err)
				}
				if _, err := svc.Authenticate(ctx, "community-1", "demo"); !errors.Is(err, account.ErrBadCredentials) {
					t.Fatalf("demo login with meta demo=%q = %v, want ErrBadCredentials", v, err)
				}
			}
			if err := db.SetMeta(ctx, d.W, account.DemoMetaKey, "true"); err != nil {
				t.Fatal(err)
			}
			a, err := svc.Authenticate(ctx, "community-1", "demo")
			if err != nil || a.ID != demo.ID || !a.Demo {
				t.Fatalf("demo login on a demo store = %+v, %v", a, err)
			}
			if _, err := svc.Authenticate(ctx, "community-1", "not demo"); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("demo account, wrong password = %v", err)
			}
			// Real accounts sign in on a demo store too.
			if _, err := svc.Authenticate(ctx, "root-admin", "root password"); err != nil {
				t.Fatal(err)
			}
			// The mark removed (the store put to real use): the demo
			// account's session begun before ends; a real account's stays.
			demoSession, _, err := e.s.CreateSession(ctx, demo.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			root, err := e.s.GetByUsername(ctx, "root-admin")
			if err != nil {
				t.Fatal(err)
			}
			rootSession, _, err := e.s.CreateSession(ctx, root.ID, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if a, _, err := e.s.Session(ctx, demoSession); err != nil || a.ID != demo.ID {
				t.Fatalf("demo session on a demo store = %+v, %v", a, err)
			}
			if err := db.SetMeta(ctx, d.W, account.DemoMetaKey, "false"); err != nil {
				t.Fatal(err)
			}
			if a, _, err := e.s.Session(ctx, demoSession); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("demo session after the demo mark was removed = %+v, %v; want ErrNotFound", a, err)
			}
			if a, _, err := e.s.Session(ctx, rootSession); err != nil || a.ID != root.ID {
				t.Errorf("real account's session after the demo mark was removed = %+v, %v", a, err)
			}
		})
	})
}

func TestRegister(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		svc := e.svc
		residents := func() int { return count(t, d, "SELECT count(*) FROM residents") }
		accounts := func() int { return count(t, d, "SELECT count(*) FROM accounts") }
		idA := cnID("420106", "19900101", "123")

		a, err := svc.Register(ctx, account.Registration{
			New:      resident.New{Name: "张三", IDNumber: idA, Phone: "138 0013-8000", CommunityCode: "420106001"},
			Password: "long enough", Lang: "en",
		}, today)
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.Username != "13800138000" || a.Role != rbac.Resident || !a.ResidentID.Valid || a.Lang != "en" || a.DisplayName != "张三" {
			t.Fatalf("Register = %+v", a)
		}
		r, err := e.rs.Get(ctx, jurisdiction.All, a.ResidentID.Int64)
		if err != nil || r.IDNumber != idA || r.Phone != "13800138000" || r.CommunityCode != "420106001" || r.Sex != "M" {
			t.Fatalf("registered resident = %+v, %v", r, err)
		}
		signedIn, err := svc.Authenticate(ctx, "13800138000", "long enough")
		if err != nil || signedIn.ID != a.ID || signedIn.ResidentID != a.ResidentID || signedIn.Actor().ResidentID != r.ID {
			t.Fatalf("sign in after registering = %+v, %v", signedIn, err)
		}

		t.Run("taken username leaves nothing behind", func(t *testing.T) {
			nr, na := residents(), accounts()
			_, err := svc.Register(ctx, account.Registration{
				New:      resident.New{Name: "李四", IDNumber: cnID("420106", "19910303", "222"), Phone: "13900139000", CommunityCode: "420106001"},
				Username: " 13800138000 ", Password: "long enough",
			}, today)
			validationtest.WantField(t, err, "username", "taken")
			if residents() != nr || accounts() != na {
				t.Fatalf("residents %d -> %d, accounts %d -> %d after a refused registration", nr, residents(), na, accounts())
			}
			// The same person can register once the name is free.
			b, err := svc.Register(ctx, account.Registration{
				New:      resident.New{Name: "李四", IDNumber: cnID("420106", "19910303", "222"), Phone: "13900139000", CommunityCode: "420106001"},
				Username: "Li.Si", Password: "long enough",
			}, today)
			if err != nil || b.Username != "li.si" || b.Lang != "zh" {
				t.Fatalf("register with a free name = %+v, %v", b, err)
			}
		})

		t.Run("taken ID number leaves nothing behind", func(t *testing.T) {
			nr, na := residents(), accounts()
			_, err := svc.Register(ctx, account.Registration{
				New:      resident.New{Name: "冒名", IDNumber: idA, Phone: "13700137000", CommunityCode: "420102001"},
				Username: "impostor", Password: "long enough",
			}, today)
			validationtest.WantField(t, err, "id_number", "resident.id_taken")
			if residents() != nr || accounts() != na {
				t.Fatalf("residents %d -> %d, accounts %d -> %d", nr, residents(), na, accounts())
			}
		})

		t.Run("invalid input reports every field", func(t *testing.T) {
			nr, na := residents(), accounts()
			_, err := svc.Register(ctx, account.Registration{
				New:      resident.New{Name: "王五", IDNumber: cnID("420106", "19920202", "333"), CommunityCode: "420106001"},
				Username: "ab", Password: "short",
			}, today)
			validationtest.WantField(t, err, "username", "account.username")
			validationtest.WantField(t, err, "password", "account.password_length")
			validationtest.WantField(t, err, "phone", "required")
			_, err = svc.Register(ctx, account.Registration{
				New:      resident.New{Name: "王五", IDNumber: cnID("420106", "19920202", "333"), Phone: "13600136000", CommunityCode: "420102"},
				Username: "wangwu", Password: "long enough",
			}, today)
			validationtest.WantField(t, err, "community_code", "resident.community")
			if residents() != nr || accounts() != na {
				t.Fatalf("residents %d -> %d, accounts %d -> %d", nr, residents(), na, accounts())
			}
		})
	})
}

func TestCreateStaff(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		svc := e.svc
		root, admin := e.root.Actor(), e.admin.Actor()
		accounts := func() int { return count(t, d, "SELECT count(*) FROM accounts") }

		a, err := svc.CreateStaff(ctx, root, account.NewStaff{Username: " Epi-106 ", DisplayName: " 流调员 ", Role: rbac.Epidemiologist,
			JurisdictionCode: "420106", Password: "staff password"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.s.Get(ctx, a.ID)
		if err != nil || got.Username != "epi-106" || got.DisplayName != "流调员" || got.Role != rbac.Epidemiologist ||
			got.JurisdictionCode.String != "420106" || got.CreatedBy.Int64 != e.root.ID || got.ResidentID.Valid {
			t.Fatalf("created staff = %+v, %v", got, err)
		}
		if a.JurisdictionPath.String != e.js["420106"].Path {
			t.Fatalf("returned staff = %+v", a)
		}
		if _, err := svc.Authenticate(ctx, "epi-106", "staff password"); err != nil {
			t.Fatalf("new staff cannot sign in: %v", err)
		}

		t.Run("within the actor's subtree", func(t *testing.T) {
			a, err := svc.CreateStaff(ctx, admin, account.NewStaff{Username: "worker-1", DisplayName: "社区工作者", Role: rbac.CommunityWorker,
				JurisdictionCode: "420106001", Password: "staff password"})
			if err != nil || a.JurisdictionCode.String != "420106001" {
				t.Fatalf("district admin creates in own community = %+v, %v", a, err)
			}
			// Only an admin makes an admin, and a district admin may.
			if _, err := svc.CreateStaff(ctx, admin, account.NewStaff{Username: "admin-2", DisplayName: "管理员", Role: rbac.Admin,
				JurisdictionCode: "420106", Password: "staff password"}); err != nil {
				t.Fatalf("admin creates admin: %v", err)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			n := accounts()
			ok := account.NewStaff{Username: "new-staff", DisplayName: "新人", Role: rbac.Clinician, JurisdictionCode: "420106", Password: "staff password"}
			for _, code := range []string{"420102", "420102001", "4201", "42", "", "999"} {
				bad := ok
				bad.JurisdictionCode = code
				_, err := svc.CreateStaff(ctx, admin, bad)
				validationtest.WantField(t, err, "jurisdiction_code", "not_found")
			}
			for _, role := range []rbac.Role{rbac.Resident, "root", ""} {
				bad := ok
				bad.Role = role
				_, err := svc.CreateStaff(ctx, root, bad)
				validationtest.WantField(t, err, "role", "account.role")
			}
			epi, _ := e.s.Get(ctx, a.ID)
			for _, actor := range []rbac.Actor{epi.Actor(), {AccountID: e.root.ID, Role: rbac.Commander, ScopePath: "/"},
				{AccountID: e.root.ID, Role: rbac.Auditor, ScopePath: "/"}, {Role: rbac.Resident, ResidentID: 1}} {
				if _, err := svc.CreateStaff(ctx, actor, ok); !errors.Is(err, fault.ErrForbidden) {
					t.Errorf("CreateStaff as %s = %v, want fault.ErrForbidden", actor.Role, err)
				}
			}
			taken := ok
			taken.Username = "EPI-106"
			_, err := svc.CreateStaff(ctx, root, taken)
			validationtest.WantField(t, err, "username", "taken")
			_, err = svc.CreateStaff(ctx, root, account.NewStaff{Username: "x", DisplayName: " ", Role: rbac.Clinician, JurisdictionCode: "420106", Password: "short"})
			validationtest.WantField(t, err, "username", "account.username")
			validationtest.WantField(t, err, "display_name", "required")
			validationtest.WantField(t, err, "password", "account.password_length")
			invisible := ok
			invisible.Username, invisible.DisplayName = "epi-invisible", "\u200b\u2060"
			_, err = svc.CreateStaff(ctx, root, invisible)
			validationtest.WantField(t, err, "display_name", "text.invisible")
			if accounts() != n {
				t.Fatalf("accounts %d -> %d after refusals", n, accounts())
			}
		})
	})
}

func TestUpdateStaff(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		svc := e.svc
		root, admin := e.root.Actor(), e.admin.Actor()
		target, err := svc.CreateStaff(ctx, admin, account.NewStaff{Username: "epi-1", DisplayName: "流调员", Role: rbac.Epidemiologist,
			JurisdictionCode: "420106", Password: "staff password"})
		if err != nil {
			t.Fatal(err)
		}
		bystander := staffAccount(t, d, e.s, "clin-1", rbac.Clinician, e.js["420106"], "pw")
		sessions := func(id int64) int { return count(t, d, "SELECT count(*) FROM sessions WHERE account_id = ?", id) }

		t.Run("disabling ends every session", func(t *testing.T) {
			tok1, _, _ := e.s.CreateSession(ctx, target.ID, time.Hour)
			tok2, _, _ := e.s.CreateSession(ctx, target.ID, time.Hour)
			other, _, _ := e.s.CreateSession(ctx, bystander.ID, time.Hour)
			if sessions(target.ID) != 2 {
				t.Fatalf("sessions before = %d", sessions(target.ID))
			}
			a, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{Role: rbac.Epidemiologist, Disabled: new(true)})
			if err != nil || !a.Disabled {
				t.Fatalf("UpdateStaff disable = %+v, %v", a, err)
			}
			if n := sessions(target.ID); n != 0 {
				t.Fatalf("sessions after disabling = %d, want 0", n)
			}
			for _, tok := range []string{tok1, tok2} {
				if _, _, err := e.s.Session(ctx, tok); !errors.Is(err, db.ErrNotFound) {
					t.Fatalf("session after disabling = %v", err)
				}
			}
			if _, _, err := e.s.Session(ctx, other); err != nil {
				t.Fatalf("another account's session ended: %v", err)
			}
			if _, err := svc.Authenticate(ctx, "epi-1", "staff password"); !errors.Is(err, account.ErrBadCredentials) {
				t.Fatalf("disabled account signs in: %v", err)
			}
			// Enabling again does not bring the sessions back.
			a, err = svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{Role: rbac.Epidemiologist, Disabled: new(false)})
			if err != nil || a.Disabled {
				t.Fatalf("UpdateStaff enable = %+v, %v", a, err)
			}
			if _, _, err := e.s.Session(ctx, tok1); !errors.Is(err, db.ErrNotFound) {
				t.Fatalf("session back after enabling: %v", err)
			}
			if _, err := svc.Authenticate(ctx, "epi-1", "staff password"); err != nil {
				t.Fatalf("enabled account cannot sign in: %v", err)
			}
		})

		t.Run("changes role, name and jurisdiction", func(t *testing.T) {
			tok, _, _ := e.s.CreateSession(ctx, target.ID, time.Hour)
			a, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{Role: rbac.CommunityWorker, JurisdictionCode: "420106001", DisplayName: " 网格员 "})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := e.s.Get(ctx, target.ID)
			if got.Role != rbac.CommunityWorker || got.JurisdictionCode.String != "420106001" || got.DisplayName != "网格员" || got.Disabled ||
				a.JurisdictionPath.String != e.js["420106001"].Path {
				t.Fatalf("after update = %+v (returned %+v)", got, a)
			}
			if _, _, err := e.s.Session(ctx, tok); err != nil {
				t.Fatalf("an update that does not disable ended a session: %v", err)
			}
			// Empty role and name keep the current ones.
			if _, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{}); err != nil {
				t.Fatal(err)
			}
			got, _ = e.s.Get(ctx, target.ID)
			if got.Role != rbac.CommunityWorker || got.DisplayName != "网格员" || got.JurisdictionCode.String != "420106001" {
				t.Fatalf("empty change altered the account: %+v", got)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			before, _ := e.s.Get(ctx, target.ID)
			_, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{Role: rbac.Resident})
			validationtest.WantField(t, err, "role", "account.role")
			_, err = svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{JurisdictionCode: "420102"})
			validationtest.WantField(t, err, "jurisdiction_code", "not_found")
			// An admin of another district sees no such account.
			admin102 := staffAccount(t, d, e.s, "admin-102", rbac.Admin, e.js["420102"], "pw")
			if _, err := svc.UpdateStaff(ctx, admin102.Actor(), target.ID, account.StaffChange{Disabled: new(true)}); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("update out of scope = %v, want ErrNotFound", err)
			}
			// Nor does a district admin see the province's admin.
			if _, err := svc.UpdateStaff(ctx, admin, e.root.ID, account.StaffChange{Disabled: new(true)}); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("update of a higher admin = %v, want ErrNotFound", err)
			}
			// Resident accounts are not staff.
			reg, err := svc.Register(ctx, account.Registration{
				New:      resident.New{Name: "张三", IDNumber: cnID("420106", "19900101", "123"), Phone: "13800138000", CommunityCode: "420106001"},
				Password: "long enough"}, today)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.UpdateStaff(ctx, root, reg.ID, account.StaffChange{Role: rbac.Admin}); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("update of a resident account = %v, want ErrNotFound", err)
			}
			if _, err := svc.UpdateStaff(ctx, root, 987654, account.StaffChange{}); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("update of an unknown account = %v, want ErrNotFound", err)
			}
			epi, _ := e.s.Get(ctx, bystander.ID)
			if _, err := svc.UpdateStaff(ctx, epi.Actor(), target.ID, account.StaffChange{Disabled: new(true)}); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("update by a clinician = %v, want fault.ErrForbidden", err)
			}
			after, _ := e.s.Get(ctx, target.ID)
			if after.Role != before.Role || after.Disabled || after.JurisdictionID != before.JurisdictionID {
				t.Fatalf("refused updates changed the account: %+v -> %+v", before, after)
			}
		})

		t.Run("no admin disables or re-roles themselves", func(t *testing.T) {
			_, err := svc.UpdateStaff(ctx, admin, e.admin.ID, account.StaffChange{Role: rbac.Admin, Disabled: new(true)})
			validationtest.WantField(t, err, "role", "account.self_change")
			_, err = svc.UpdateStaff(ctx, admin, e.admin.ID, account.StaffChange{Role: rbac.Auditor})
			validationtest.WantField(t, err, "role", "account.self_change")
			if got, _ := e.s.Get(ctx, e.admin.ID); got.Disabled || got.Role != rbac.Admin {
				t.Fatalf("self change applied: %+v", got)
			}
			// Renaming oneself, keeping the role (given or left empty), is fine.
			if _, err := svc.UpdateStaff(ctx, admin, e.admin.ID, account.StaffChange{Role: rbac.Admin, DisplayName: "区管理员"}); err != nil {
				t.Fatalf("self rename with role = %v", err)
			}
			if _, err := svc.UpdateStaff(ctx, admin, e.admin.ID, account.StaffChange{DisplayName: "区管理员二"}); err != nil {
				t.Fatalf("self rename without role = %v", err)
			}
			if got, _ := e.s.Get(ctx, e.admin.ID); got.DisplayName != "区管理员二" || got.Role != rbac.Admin {
				t.Fatalf("after self rename = %+v", got)
			}
		})
	})
}

func TestIssueToken(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		svc := e.svc
		admin := e.admin.Actor()
		tokens := func() int { return count(t, d, "SELECT count(*) FROM api_tokens") }

		for _, role := range rbac.TokenRoles {
			secret, tok, err := svc.IssueToken(ctx, admin, account.NewToken{Name: " 实验室 " + string(role), Role: role, JurisdictionCode: "420106001", ExpiresInDays: 30})
			if err != nil {
				t.Fatalf("IssueToken %s: %v", role, err)
			}
			got, err := e.s.AuthenticateToken(ctx, secret)
			if err != nil || got.ID != tok.ID || got.Role != role || got.JurisdictionPath != e.js["420106001"].Path ||
				got.CreatedBy != e.admin.ID || got.Name != "实验室 "+string(role) {
				t.Fatalf("issued %s token = %+v, %v", role, got, err)
			}
			if d := time.Until(got.ExpiresAt.Time); !got.ExpiresAt.Valid || d < 29*24*time.Hour || d > 31*24*time.Hour {
				t.Fatalf("expiry = %v", got.ExpiresAt)
			}
		}
		secret, _, err := svc.IssueToken(ctx, admin, account.NewToken{Name: "forever", Role: rbac.Clinician, JurisdictionCode: "420106"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := e.s.AuthenticateToken(ctx, secret); err != nil || got.ExpiresAt.Valid {
			t.Fatalf("token without expiry = %+v, %v", got, err)
		}

		n := tokens()
		ok := account.NewToken{Name: "lab", Role: rbac.LabTechnician, JurisdictionCode: "420106"}
		for _, role := range []rbac.Role{rbac.Epidemiologist, rbac.Admin, rbac.CommunityWorker, rbac.Resident, ""} {
			bad := ok
			bad.Role = role
			_, _, err := svc.IssueToken(ctx, admin, bad)
			validationtest.WantField(t, err, "role", "account.token_role")
		}
		for _, code := range []string{"420102", "4201", ""} {
			bad := ok
			bad.JurisdictionCode = code
			_, _, err := svc.IssueToken(ctx, admin, bad)
			validationtest.WantField(t, err, "jurisdiction_code", "not_found")
		}
		for _, days := range []int{-1, 731} {
			bad := ok
			bad.ExpiresInDays = days
			_, _, err := svc.IssueToken(ctx, admin, bad)
			validationtest.WantField(t, err, "expires_in_days", "account.token_expiry")
		}
		bad := ok
		bad.Name = "  "
		_, _, err = svc.IssueToken(ctx, admin, bad)
		validationtest.WantField(t, err, "name", "required_max")
		epi := staffAccount(t, d, e.s, "epi", rbac.Epidemiologist, e.js["420106"], "pw")
		lab := staffAccount(t, d, e.s, "lab", rbac.LabTechnician, e.js["420106"], "pw")
		for _, actor := range []rbac.Actor{epi.Actor(), lab.Actor()} {
			if _, _, err := svc.IssueToken(ctx, actor, ok); !errors.Is(err, fault.ErrForbidden) {
				t.Errorf("IssueToken as %s = %v, want fault.ErrForbidden", actor.Role, err)
			}
		}
		if tokens() != n {
			t.Fatalf("tokens %d -> %d after refusals", n, tokens())
		}
	})
}

func TestSetLang(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		validationtest.WantField(t, e.svc.SetLang(ctx, e.admin.ID, "fr"), "lang", "account.lang")
		if err := e.svc.SetLang(ctx, e.admin.ID, "en"); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.s.Get(ctx, e.admin.ID); got.Lang != "en" {
			t.Fatalf("lang = %q", got.Lang)
		}
	})
}

// TestUpdateStaffKeepsDisabledWhenNotGiven: a change that does not mention
// the disabled flag leaves it as it is.
func TestUpdateStaffKeepsDisabledWhenNotGiven(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		svc := e.svc
		admin := e.admin.Actor()
		target := staffAccount(t, d, e.s, "epi-9", rbac.Epidemiologist, e.js["420106"], "staff password")
		if _, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		a, err := svc.UpdateStaff(ctx, admin, target.ID, account.StaffChange{DisplayName: "new name"})
		if err != nil || !a.Disabled || a.DisplayName != "new name" {
			t.Fatalf("rename of a disabled account = %+v, %v", a, err)
		}
	})
}
