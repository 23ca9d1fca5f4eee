// Package jurisdiction serves the hierarchy: the public list residents pick
// their community from, and the administrator's page and API to extend and
// rename it within their scope.
package jurisdiction

import (
	"embed"
	"net/http"

	"github.com/outbreak-platform/outbreak/internal/auth"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
	"github.com/outbreak-platform/outbreak/internal/jsonio"
	"github.com/outbreak-platform/outbreak/internal/jurisdiction"
	"github.com/outbreak-platform/outbreak/internal/rbac"
)

//go:embed templates/*.html
var templates embed.FS

// Handler serves the hierarchy.
type Handler struct {
	rd  *render.Renderer
	t   *render.Templates
	svc *jurisdiction.Service
}

// New builds the hierarchy's pages and API.
func New(rd *render.Renderer, svc *jurisdiction.Service) (*Handler, error) {
	t, err := rd.Parse(templates)
	if err != nil {
		return nil, err
	}
	return &Handler{rd: rd, t: t, svc: svc}, nil
}

// Routes lists the hierarchy's pages and API.
func (h *Handler) Routes() []route.Route {
	manage := route.Can(rbac.JurisdictionManage)
	return []route.Route{
		route.P("GET /admin/jurisdictions", manage, h.List),
		route.P("POST /admin/jurisdictions", manage, h.Create),
		route.A("GET /api/v1/jurisdictions", route.Anyone, h.APIList),
		route.A("POST /api/v1/jurisdictions", manage, h.APICreate),
		route.A("PATCH /api/v1/jurisdictions/{code}", manage, h.APIRename),
	}
}

type adminData struct {
	Jurisdictions []jurisdiction.Jurisdiction
	Parents       []render.Option
}

func (h *Handler) page(w http.ResponseWriter, r *http.Request) (*render.Page, error) {
	p := h.rd.NewPage(w, r, "admin.jurisdictions")
	js, err := h.svc.Store.Subtree(r.Context(), auth.From(r.Context()).Actor.ScopePath)
	p.Data = adminData{Jurisdictions: js,
		Parents: render.JurisdictionOptions(js, p.L.Lang, jurisdiction.Province, jurisdiction.City, jurisdiction.District)}
	return p, err
}

// List shows the hierarchy in scope and the form to extend it.
func (h *Handler) List(w http.ResponseWriter, r *http.Request) {
	p, err := h.page(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	h.t.Render(w, r, http.StatusOK, "admin_jurisdictions", p)
}

// Create adds a jurisdiction below one in scope.
func (h *Handler) Create(w http.ResponseWriter, r *http.Request) {
	p, err := h.page(w, r)
	if err != nil {
		h.rd.Error(w, r, p, err)
		return
	}
	p.Form = r.PostForm
	_, err = h.svc.Create(r.Context(), auth.From(r.Context()).Actor.ScopePath, jurisdiction.New{
		Code: r.PostFormValue("code"), NameZH: r.PostFormValue("name_zh"), NameEN: r.PostFormValue("name_en"), ParentCode: r.PostFormValue("parent_code")})
	if err != nil {
		h.t.Fail(w, r, p, "admin_jurisdictions", err)
		return
	}
	render.Redirect(w, r, "/admin/jurisdictions", "flash.saved")
}

// APIList lists the children of ?parent=CODE, or the roots. The hierarchy
// is public: residents pick their community from it.
func (h *Handler) APIList(w http.ResponseWriter, r *http.Request) {
	var parentID int64
	if code := r.URL.Query().Get("parent"); code != "" {
		p, err := h.svc.Store.GetByCode(r.Context(), code)
		if err != nil {
			h.rd.Problem(w, r, err)
			return
		}
		parentID = p.ID
	}
	js, err := h.svc.Store.Children(r.Context(), parentID)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, map[string]any{"jurisdictions": js})
}

// APICreate adds a jurisdiction below one in scope.
func (h *Handler) APICreate(w http.ResponseWriter, r *http.Request) {
	var n jurisdiction.New
	if err := jsonio.Decode(w, r, &n); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	j, err := h.svc.Create(r.Context(), auth.From(r.Context()).Actor.ScopePath, n)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusCreated, j)
}

// APIRename changes the names of a jurisdiction in scope.
func (h *Handler) APIRename(w http.ResponseWriter, r *http.Request) {
	var in struct {
		NameZH string `json:"name_zh"`
		NameEN string `json:"name_en"`
	}
	if err := jsonio.Decode(w, r, &in); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	code := r.PathValue("code")
	if err := h.svc.Store.Rename(r.Context(), auth.From(r.Context()).Actor.ScopePath, code, in.NameZH, in.NameEN); err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	j, err := h.svc.Store.GetByCode(r.Context(), code)
	if err != nil {
		h.rd.Problem(w, r, err)
		return
	}
	h.rd.JSON(w, r, http.StatusOK, j)
}
