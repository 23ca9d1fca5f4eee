// Package api serves the JSON API under /api/v1/: everything the pages do,
// for apps and for machine clients such as labs and hospitals. Errors are
// RFC 9457 problem details.
package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/outbreak-platform/outbreak/internal/accesslog"
	"github.com/outbreak-platform/outbreak/internal/account"
	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/exposure"
	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/healthcode"
	"github.com/outbreak-platform/outbreak/internal/i18n"
	"github.com/outbreak-platform/outbreak/internal/issuer"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/problem"
	"github.com/outbreak-platform/outbreak/internal/resident"
	"github.com/outbreak-platform/outbreak/internal/tracing"
	"github.com/outbreak-platform/outbreak/internal/validation"
	"github.com/outbreak-platform/outbreak/internal/venue"
)

// Handler serves the API.
type Handler struct {
	Log           *slog.Logger
	Catalog       *i18n.Catalog
	Sessions      *auth.Sessions
	Accounts      *account.Service
	Residents     *resident.Service
	Jurisdictions jurisdiction.Store
	Access        accesslog.Store
	LoginByIP     *auth.Limiter
	LoginByUser   *auth.Limiter
	ClientIP      auth.ClientIP
	Now           func() time.Time
	Codes         *healthcode.Service
	Issuer        *issuer.Issuer
	// Places is the place registry, PlaceCodes signs and verifies its
	// poster codes, CheckIns keeps who was where (issue 4).
	Places     venue.Store
	PlaceCodes *venue.Codes
	CheckIns   *tracing.Store
	// Tracing traces cases and keeps their contacts' evidence.
	Tracing *tracing.Service
	// Exposures answers the public look-ups, limited per client address
	// by PublicByIP.
	Exposures  exposure.Store
	PublicByIP *auth.Limiter
}

func (h *Handler) lang(r *http.Request) string {
	if p := auth.From(r.Context()); p != nil && p.Account != nil {
		return p.Account.Lang
	}
	return i18n.Negotiate(r)
}

// fail writes err as problem details, mapping the domain's sentinels.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var pe *problem.Error
	switch {
	case errors.As(err, &pe):
	case errors.Is(err, db.ErrNotFound):
		err = problem.New(http.StatusNotFound, "Not found, or not in your jurisdiction.")
	case errors.Is(err, healthcode.ErrNoCode):
		err = problem.New(http.StatusNotFound, "No health code yet: make a first health declaration.")
	case errors.Is(err, fault.ErrForbidden), errors.Is(err, fault.ErrForbidden), errors.Is(err, fault.ErrForbidden):
		err = problem.New(http.StatusForbidden, "Your role may not do this.")
	case errors.Is(err, account.ErrBusy):
		err = &problem.Error{Status: http.StatusServiceUnavailable, Detail: "Too many sign-ins at once; retry shortly.", RetryAfter: 2}
	}
	problem.Write(w, r, h.Log, err, h.Catalog.For(h.lang(r)).Field)
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := jsonio.Write(w, status, v); err != nil {
		h.Log.ErrorContext(r.Context(), "write response", "err", err)
	}
}

func (h *Handler) today() civil.Date { return civil.Of(h.Now()) }

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.New(http.StatusNotFound, "Not found, or not in your jurisdiction.")
	}
	return id, nil
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, validation.Field(name, "invalid")
	}
	return n, nil
}

// ResidentView is a person as the API shows them. Staff listings and
// guardians see masked numbers; the holder and a logged staff read see all.
type ResidentView struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	IDKind        string     `json:"id_kind"`
	IDNumber      string     `json:"id_number"`
	Phone         string     `json:"phone,omitempty"`
	BirthDate     civil.Date `json:"birth_date"`
	Sex           string     `json:"sex"`
	CommunityCode string     `json:"community_code"`
	Community     string     `json:"community"`
	GuardianID    int64      `json:"guardian_id,omitempty"`
	HouseholdID   int64      `json:"household_id,omitempty"`
}

func view(r resident.Resident, lang string, full bool) ResidentView {
	v := ResidentView{ID: r.ID, Name: r.Name, IDKind: r.IDKind, IDNumber: r.MaskedIDNumber(), Phone: r.MaskedPhone(),
		BirthDate: r.BirthDate, Sex: r.Sex, CommunityCode: r.CommunityCode, Community: r.CommunityName(lang),
		GuardianID: r.GuardianID.Int64, HouseholdID: r.HouseholdID.Int64}
	if full {
		v.IDNumber, v.Phone = r.IDNumber, r.Phone
	}
	return v
}

func views(rs []resident.Resident, lang string, full bool) []ResidentView {
	out := make([]ResidentView, len(rs))
	for i, r := range rs {
		out[i] = view(r, lang, full)
	}
	return out
}
