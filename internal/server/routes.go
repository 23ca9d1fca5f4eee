package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/outbreak-platform/outbreak/internal/fault"
	"github.com/outbreak-platform/outbreak/internal/http/render"
	"github.com/outbreak-platform/outbreak/internal/http/route"
)

// The access-control map: every area declares its routes with their guards
// in its own Routes (internal/http/<area>), New mounts them in order, and
// docs/ROUTES.md is the whole map written from that list
// (TestRoutesDoc keeps it true). The routes here are the server's own.

var errNoSuchRoute = fault.New(fault.NotFound, "error.no_route", "server: no such API route")

// operations are the routes an orchestrator and the browser need before
// any area: health, readiness, metrics, the site's assets and the problem
// types' descriptions.
func (s *Server) operations(rd *render.Renderer) []route.Route {
	return []route.Route{
		route.R("GET /healthz", http.HandlerFunc(s.healthz)),
		route.R("GET /readyz", http.HandlerFunc(s.readyz)),
		route.R("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})),
		route.R("GET "+render.StaticPrefix+"{hash}/{name...}", http.HandlerFunc(rd.Static)),
		route.R("GET /problems/{type}", http.HandlerFunc(rd.ProblemPage)),
	}
}
