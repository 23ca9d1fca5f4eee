// Package demo generates a synthetic but realistic region — Wuhan, its
// districts and communities, residents in households with dependents, and
// staff for every role — deterministically from a seed, so that tests and
// newcomers can rely on it. Demo logins are "<role>-<n>" and "resident-<n>",
// all with the password "demo"; the store is marked as a demo, and the server
// refuses demo logins on a store without that mark.
package demo

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/nationalid"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/resident"
)

// Password of every demo account.
const Password = "demo"

// ErrNotEmpty means the store already holds people; the demo never mixes
// synthetic people with real ones.
var ErrNotEmpty = errors.New("demo: the store already holds residents or accounts")

// Reference is the fixed day ages are computed from, so that the same seed
// gives the same people whatever day it runs.
var Reference = civil.Date{Year: 2026, Month: 1, Day: 1}

// Options control a generation.
type Options struct {
	Residents int
	Seed      uint64
	Batch     int       // residents per transaction; default 20,000
	Progress  io.Writer // where progress goes (a bar on a terminal, plain lines elsewhere); nil for none
}

// Result counts what was made.
type Result struct {
	Residents, Dependents, Households, ResidentAccounts, StaffAccounts, Communities int
	Elapsed                                                                         time.Duration
}

// Stores the generator writes through.
type Stores struct {
	DB            *db.DB
	Jurisdictions jurisdiction.Store
	Residents     resident.Store
	Accounts      account.Store
	Params        account.Params
}

// Generate fills an empty store with the demo region.
func Generate(ctx context.Context, s Stores, o Options) (res Result, err error) {
	start := time.Now()
	if o.Residents < 1 {
		return Result{}, fmt.Errorf("demo: need at least 1 resident, got %d", o.Residents)
	}
	if o.Batch <= 0 {
		o.Batch = 20000
	}
	var n int
	if err = db.Get(ctx, s.DB.R, &n, "SELECT (SELECT count(*) FROM residents) + (SELECT count(*) FROM accounts)"); err != nil {
		return Result{}, fmt.Errorf("demo: count: %w", err)
	}
	if n > 0 {
		return Result{}, ErrNotEmpty
	}
	g := &gen{rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), seq: map[string]int{},
		pwHash: account.HashPassword(Password, s.Params)}
	if err = g.region(ctx, s); err != nil {
		return res, err
	}
	res.Communities = len(g.communities)
	staff, err := g.staff(ctx, s)
	if err != nil {
		return res, err
	}
	res.StaffAccounts = staff

	restore, err := s.DB.DropIndexes(ctx, "households", "residents", "accounts")
	if err != nil {
		return res, err
	}
	defer func() {
		if rerr := restore(context.WithoutCancel(ctx)); rerr != nil && err == nil {
			err = rerr
		}
	}()

	bar := newProgress(o.Progress, o.Residents, "residents")

	// One goroutine makes batches while this one writes them.
	type batch struct {
		households []int64
		hhComm     []int64
		people     []resident.Resident
		sealed     resident.Batch
		accounts   []account.Account
	}
	batches := make(chan batch, 2)
	genCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		var b batch
		for made := 0; made < o.Residents; {
			hh := g.household(o.Residents - made)
			b.households = append(b.households, hh.id)
			b.hhComm = append(b.hhComm, hh.community)
			for _, p := range hh.people {
				b.people = append(b.people, p)
				if !p.GuardianID.Valid {
					b.accounts = append(b.accounts, account.Account{
						Username: "resident-" + strconv.FormatInt(p.ID, 10), PasswordHash: g.pwHash, Role: rbac.Resident,
						DisplayName: p.Name, ResidentID: sql.NullInt64{Int64: p.ID, Valid: true}, Demo: true, CreatedAt: g.now,
					})
				}
			}
			made += len(hh.people)
			if len(b.people) >= o.Batch || made >= o.Residents {
				b.sealed = s.Residents.SealBatch(b.people)
				select {
				case batches <- b:
				case <-genCtx.Done():
					return
				}
				b = batch{}
			}
		}
	}()
	for b := range batches {
		err := s.DB.InTx(ctx, func(tx *db.Tx) error {
			rows := make([][]any, len(b.households))
			for i := range b.households {
				rows[i] = []any{b.households[i], b.hhComm[i]}
			}
			if err := tx.BulkInsert(ctx, "households", []string{"id", "community_id"}, rows); err != nil {
				return err
			}
			if err := s.Residents.InsertBatch(ctx, tx, b.sealed); err != nil {
				return err
			}
			return s.Accounts.InsertBatch(ctx, tx, b.accounts)
		})
		if err != nil {
			return res, fmt.Errorf("demo: write batch: %w", err)
		}
		res.Households += len(b.households)
		res.Residents += len(b.people)
		res.ResidentAccounts += len(b.accounts)
		res.Dependents += len(b.people) - len(b.accounts)
		bar.Add(len(b.people))
	}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		for k, v := range map[string]string{account.DemoMetaKey: "true", "demo_seed": strconv.FormatUint(o.Seed, 10),
			"demo_residents": strconv.Itoa(res.Residents)} {
			if err := db.SetMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	bar.Finish()
	if err != nil {
		return res, err
	}
	if err = restore(ctx); err != nil {
		return res, err
	}
	restore = func(context.Context) error { return nil }
	res.Elapsed = time.Since(start)
	return res, nil
}

type gen struct {
	rng         *rand.Rand
	seq         map[string]int // (district, birth date) -> sequence numbers used
	pwHash      string
	now         time.Time
	communities []jurisdiction.Jurisdiction
	districtOf  map[int64]string
	nextID      int64
	nextHH      int64
	phones      int
}

func (g *gen) region(ctx context.Context, s Stores) error {
	g.now = time.Now().UTC().Truncate(time.Second)
	g.districtOf = map[int64]string{}
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		create := func(code, zh, en, parent string) (jurisdiction.Jurisdiction, error) {
			return s.Jurisdictions.Create(ctx, tx, jurisdiction.All, jurisdiction.New{Code: code, NameZH: zh, NameEN: en, ParentCode: parent})
		}
		if _, err := create(province.code, province.zh, province.en, ""); err != nil {
			return err
		}
		if _, err := create(city.code, city.zh, city.en, province.code); err != nil {
			return err
		}
		for i, d := range districts {
			if _, err := create(d.code, d.zh, d.en, city.code); err != nil {
				return err
			}
			for k := range CommunitiesPerDistrict {
				st := streets[(i*3+k)%len(streets)]
				c, err := create(fmt.Sprintf("%s%03d", d.code, k+1), st.zh+"社区", st.en+" Community", d.code)
				if err != nil {
					return err
				}
				g.communities = append(g.communities, c)
				g.districtOf[c.ID] = d.code
			}
		}
		return nil
	})
}

func (g *gen) staff(ctx context.Context, s Stores) (int, error) {
	count := map[string]int{}
	made := 0
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		add := func(role, prefix, code string) error {
			j, err := s.Jurisdictions.GetByCode(ctx, code)
			if err != nil {
				return fmt.Errorf("demo: staff jurisdiction %s: %w", code, err)
			}
			count[prefix]++
			name := fmt.Sprintf("%s-%d", prefix, count[prefix])
			_, err = s.Accounts.Create(ctx, tx, account.Account{Username: name, PasswordHash: g.pwHash, Role: rbac.Role(role),
				DisplayName: name, JurisdictionID: sql.NullInt64{Int64: j.ID, Valid: true}, Demo: true})
			made++
			return err
		}
		for _, p := range staffPlan {
			switch p.scope {
			case "city":
				if err := add(p.role, p.prefix, city.code); err != nil {
					return err
				}
			case "community":
				for _, c := range g.communities {
					if err := add(p.role, p.prefix, c.Code); err != nil {
						return err
					}
				}
			default:
				if err := add(p.role, p.prefix, p.scope); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return made, err
}

type household struct {
	id, community int64
	people        []resident.Resident
}

// household makes the next household of at most limit people. The first
// household is always a couple with a child and an elder, so that resident-1
// is a guardian with dependents.
func (g *gen) household(limit int) household {
	g.nextHH++
	c := g.communities[g.rng.IntN(len(g.communities))]
	if g.nextHH == 1 {
		c = g.communities[4*CommunitiesPerDistrict] // Wuchang's first community
	}
	h := household{id: g.nextHH, community: c.ID}
	size := []int{1, 2, 2, 2, 3, 3, 3, 4, 4, 5}[g.rng.IntN(10)]
	if g.nextHH == 1 {
		size = 4
	}
	size = min(size, limit)
	surname := surnames[g.rng.IntN(len(surnames))]
	head := g.person(c, surname, 25+g.rng.IntN(45), 0)
	h.people = append(h.people, head)
	for i := 1; i < size; i++ {
		switch {
		case i == 1 && size > 2 || (i == 1 && g.rng.IntN(3) > 0):
			spouseAge := max(20, head.BirthDate.YearsOn(Reference)+g.rng.IntN(7)-3)
			h.people = append(h.people, g.person(c, surnames[g.rng.IntN(len(surnames))], spouseAge, 0))
		case g.nextHH == 1 && i == 2:
			h.people = append(h.people, g.person(c, surname, 6, head.ID)) // child
		case g.nextHH == 1 && i == 3 || g.rng.IntN(4) == 0:
			h.people = append(h.people, g.person(c, surname, 75+g.rng.IntN(20), head.ID)) // elder
		case g.rng.IntN(3) == 0 && head.BirthDate.YearsOn(Reference) > 45:
			h.people = append(h.people, g.person(c, surname, 18+g.rng.IntN(8), 0)) // grown child
		default:
			h.people = append(h.people, g.person(c, surname, g.rng.IntN(12), head.ID)) // child
		}
	}
	for i := range h.people {
		h.people[i].HouseholdID = sql.NullInt64{Int64: h.id, Valid: true}
	}
	return h
}

func (g *gen) person(c jurisdiction.Jurisdiction, surname rune, age int, guardian int64) resident.Resident {
	g.nextID++
	sex := "F"
	if g.rng.IntN(2) == 0 {
		sex = "M"
	}
	born := Reference.AddDays(-(age*365 + g.rng.IntN(365)))
	given := string(givenChars[g.rng.IntN(len(givenChars))])
	if g.rng.IntN(3) > 0 {
		given += string(givenChars[g.rng.IntN(len(givenChars))])
	}
	idNumber := g.idNumber(g.districtOf[c.ID], &born, sex)
	r := resident.Resident{
		ID: g.nextID, Name: string(surname) + given, IDKind: "CN-RIC", IDNumber: idNumber,
		BirthDate: born, Sex: sex, CommunityID: c.ID, CreatedAt: g.now,
		GuardianID: sql.NullInt64{Int64: guardian, Valid: guardian != 0},
	}
	if guardian == 0 {
		k := g.phones
		g.phones++
		r.Phone = fmt.Sprintf("1%c%09d", "35789"[k%5], k/5)
	}
	return r
}

// idNumber makes a valid, unique resident ID number: the district's code,
// the birth date, a sequence whose parity gives the sex, and the check digit.
// When a day's sequence numbers run out, the birth date moves a day on.
func (g *gen) idNumber(district string, born *civil.Date, sex string) string {
	var date string
	var n int
	for {
		date = fmt.Sprintf("%04d%02d%02d", born.Year, int(born.Month), born.Day)
		n = g.seq[district+date+sex]
		if n < 499 {
			break
		}
		*born = born.AddDays(1)
	}
	g.seq[district+date+sex] = n + 1
	seq := 2*n + 2 // even: female
	if sex == "M" {
		seq = 2*n + 1
	}
	first17 := fmt.Sprintf("%s%s%03d", district, date, seq)
	return first17 + string(nationalid.CNCheckChar(first17))
}
