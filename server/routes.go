package server

import "net/http"

// route is one API endpoint. The table is the single list of what the
// server answers; the OpenAPI test checks openapi.yaml against it.
type route struct {
	method, pattern string
	handler         func(*api0, http.ResponseWriter, *http.Request)
}

var routes = []route{
	{"POST", "/v1/jobs", (*api0).submit},
	{"GET", "/v1/jobs", (*api0).listJobs},
	{"GET", "/v1/jobs/{id}", (*api0).getJob},
	{"GET", "/v1/jobs/{id}/results", (*api0).results},
	{"POST", "/v1/jobs/{id}/cancel", (*api0).cancel},
	{"POST", "/v1/workers/sync", (*api0).sync},
	{"GET", "/v1/workers", (*api0).listWorkers},
	{"GET", "/v1/ops", (*api0).listOps},
	{"GET", "/v1/blobs/{ref}", (*api0).blob},
	{"PUT", "/v1/blobs/{ref}", (*api0).blob},
	{"POST", "/v1/blobs", (*api0).blob},
	{"GET", "/v1/openapi.yaml", (*api0).openapi},
	{"GET", "/healthz", (*api0).healthz},
	{"GET", "/readyz", (*api0).readyz},
}
