package venue

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/list"
	"github.com/outbreak-platform/outbreak/internal/rbac"
	"github.com/outbreak-platform/outbreak/internal/validation"
)

// registryBasis is the legal basis the audit chain records for a change to
// the place registry.
const registryBasis = "place registry: check-in posters for epidemic prevention and control"

// MaxReasonRunes bounds the reason given for disabling or enabling a place.
const MaxReasonRunes = 200

// Registry registers places and disables or enables them for an actor,
// each change with its entry in the audit chain in the same transaction:
// who registered a poster that people scan, or took one out of service,
// stays on record.
type Registry struct {
	DB    *db.DB
	Store Store
}

// placeRecord is what the audit chain keeps of a place.
func placeRecord(p Place) map[string]any {
	m := map[string]any{"place_id": p.ID, "type": p.Type, "name": p.Name, "jurisdiction": p.JurisdictionCode, "disabled": p.Disabled}
	if p.Kind == Vehicle {
		m["service_number"] = p.ServiceNumber
		if !p.ServiceDate.IsZero() {
			m["service_date"] = p.ServiceDate.String()
		}
	}
	return m
}

// Register registers a place for a (see Store.Create) and records it.
func (r *Registry) Register(ctx context.Context, a rbac.Actor, n New) (Place, error) {
	var p Place
	err := r.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if p, err = r.Store.Create(ctx, tx, a, n); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Record{Actor: a, Kind: audit.Place, After: placeRecord(p),
			Reason: "place registered", Cause: i18n.M("audit.cause.place_registered"), LegalBasis: registryBasis})
		return err
	})
	if err != nil {
		return Place{}, err
	}
	return p, nil
}

// SetDisabled disables or enables a place that a may manage (MayManage;
// fault.ErrForbidden otherwise) and records the change with reason, which may be
// empty. Setting what is already set changes nothing and records nothing.
// It returns the place as it now is.
func (r *Registry) SetDisabled(ctx context.Context, a rbac.Actor, id int64, disabled bool, reason string) (Place, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > MaxReasonRunes || !validation.PlainText(reason) {
		return Place{}, validation.Field("reason", "place.reason", "max", MaxReasonRunes)
	}
	var cause i18n.Message
	if reason == "" {
		reason = map[bool]string{true: "place disabled", false: "place enabled"}[disabled]
		cause = i18n.M(map[bool]string{true: "audit.cause.place_disabled", false: "audit.cause.place_enabled"}[disabled])
	}
	var p Place
	err := r.DB.InTx(ctx, func(tx *db.Tx) error {
		lock := ""
		if tx.Dialect() == db.Postgres {
			lock = " FOR UPDATE OF p"
		}
		if err := db.Get(ctx, tx, &p, selectFrom+"WHERE p.id = ?"+lock, id); err != nil {
			return err
		}
		if !MayManage(a, p) {
			return fault.ErrForbidden
		}
		if p.Disabled == disabled {
			return nil
		}
		before := placeRecord(p)
		if _, err := db.Exec(ctx, tx, "UPDATE places SET disabled = ? WHERE id = ?", disabled, id); err != nil {
			return fmt.Errorf("venue: set disabled: %w", err)
		}
		p.Disabled = disabled
		_, err := audit.Append(ctx, tx, audit.Record{Actor: a, Kind: audit.Place, Before: before, After: placeRecord(p),
			Reason: reason, Cause: cause, LegalBasis: registryBasis})
		return err
	})
	if err != nil {
		return Place{}, err
	}
	return p, nil
}

// PosterFileName names the file of a place's poster (carriage 0: the
// place's own) in lang and format f: "place-12-解放路菜市场-zh.svg". The
// name keeps the place's name without the characters file systems refuse.
func PosterFileName(p Place, carriage int, lang string, f Format) string {
	var b strings.Builder
	fmt.Fprintf(&b, "place-%d-", p.ID)
	if carriage > 0 {
		fmt.Fprintf(&b, "carriage-%d-", carriage)
	}
	dash := true
	for _, c := range p.Name {
		if unicode.IsLetter(c) || unicode.IsDigit(c) {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	if !dash {
		b.WriteByte('-')
	}
	b.WriteString(lang + "." + f.Ext())
	return b.String()
}

// List is the places a may see listed: a resident's own (newest first), or
// for staff the places in their scope that f matches.
func (r *Registry) List(ctx context.Context, a rbac.Actor, f Filter) (list.Of[Place], error) {
	pg := list.Page{Offset: f.Offset, Limit: f.Limit}.Norm()
	f.Offset, f.Limit = pg.Offset, pg.Limit
	var ps []Place
	var total int64
	var err error
	switch {
	case a.Role.IsStaff():
		if ps, err = r.Store.Search(ctx, a.ScopePath, f); err == nil {
			total, err = r.Store.Count(ctx, a.ScopePath, f)
		}
	case a.Role == rbac.Resident && a.AccountID != 0:
		// A resident's own places are few: all of them, on one page.
		if ps, err = r.Store.ListOwned(ctx, a.AccountID); err == nil {
			total, err = r.Store.CountOwned(ctx, a.AccountID)
		}
		pg = list.Page{Limit: max(len(ps), 1)}
	default:
		return list.Of[Place]{}, fault.ErrForbidden
	}
	if err != nil {
		return list.Of[Place]{}, err
	}
	return list.New(ps, total, pg), nil
}

// Read returns the place id as a may read it: one a manages, or for staff
// one in their scope; any other is not found.
func (r *Registry) Read(ctx context.Context, a rbac.Actor, id int64) (Place, error) {
	p, err := r.Store.Get(ctx, id)
	if err != nil {
		return Place{}, err
	}
	if !MayManage(a, p) && !(a.Role.IsStaff() && jurisdiction.InScope(a.ScopePath, p.JurisdictionPath)) {
		return Place{}, db.ErrNotFound
	}
	return p, nil
}

// Managed returns the place id, which a must be allowed to manage
// (fault.ErrForbidden otherwise).
func (r *Registry) Managed(ctx context.Context, a rbac.Actor, id int64) (Place, error) {
	p, err := r.Store.Get(ctx, id)
	if err == nil && !MayManage(a, p) {
		err = fault.ErrForbidden
	}
	return p, err
}
