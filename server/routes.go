package server

import (
	"net/http"

	"github.com/myriadhq/myriad/human"
)

// route is one API endpoint. The table is the single list of what the
// server answers; the OpenAPI test checks openapi.yaml against it, and
// the access test checks its allow column against the matrix beside it
// (access_test.go).
type route struct {
	method, pattern string
	handler         func(*api0, http.ResponseWriter, *http.Request)
	// allow is who may call it (see auth.go); submitters reach only their
	// own jobs under /v1/jobs/{id}.
	allow roles
}

var routes = []route{
	{"POST", "/v1/jobs", (*api0).submit, admin | submitter},
	{"GET", "/v1/jobs", (*api0).listJobs, admin | submitter | viewer},
	{"GET", "/v1/jobs/{id}", (*api0).getJob, admin | submitter | viewer},
	{"GET", "/v1/jobs/{id}/results", (*api0).results, admin | submitter | viewer},
	{"POST", "/v1/jobs/{id}/cancel", (*api0).cancel, admin | submitter},
	{"POST", "/v1/workers/sync", (*api0).sync, admin | worker},
	{"POST", "/v1/workers/{id}/wake", (*api0).wakeWorker, admin | worker},
	{"GET", "/v1/workers", (*api0).listWorkers, admin | viewer},
	{"GET", "/v1/ops", (*api0).listOps, admin | submitter | worker | viewer},
	{"GET", "/v1/blobs/{ref}", (*api0).blob, admin | submitter | worker | viewer},
	{"PUT", "/v1/blobs/{ref}", (*api0).blob, admin | submitter | worker},
	{"POST", "/v1/blobs", (*api0).blob, admin | submitter | worker},
	{"GET", "/v1/openapi.yaml", (*api0).openapi, anyone},
	{"GET", "/healthz", (*api0).healthz, anyone},
	{"GET", "/readyz", (*api0).readyz, anyone},

	// Human computation (issue 7): the annotator app and API, annotators.
	{"GET", "/annotate/", hroute((*human.HTTP).App), anyone},
	{"GET", "/annotate/{file}", hroute((*human.HTTP).App), anyone},
	{"POST", "/v1/annotate/signin", hroute((*human.HTTP).Signin), anyone},
	{"POST", "/v1/annotate/signout", hroute((*human.HTTP).Signout), annotator},
	{"GET", "/v1/annotate/me", hroute((*human.HTTP).Me), annotator},
	{"GET", "/v1/annotate/stages", hroute((*human.HTTP).Stages), annotator},
	{"POST", "/v1/annotate/next", hroute((*human.HTTP).Next), annotator},
	{"POST", "/v1/annotate/tasks/{id}/answer", hroute((*human.HTTP).Answer), annotator},
	{"POST", "/v1/annotate/tasks/{id}/skip", hroute((*human.HTTP).Skip), annotator},
	{"POST", "/v1/annotate/tasks/{id}/undo", hroute((*human.HTTP).Undo), annotator},
	{"POST", "/v1/annotators", hroute((*human.HTTP).CreateAnnotator), admin},
	{"GET", "/v1/annotators", hroute((*human.HTTP).ListAnnotators), admin | viewer},
	{"POST", "/v1/annotators/{name}/pause", hroute((*human.HTTP).PauseAnnotator), admin},
	{"POST", "/v1/annotators/{name}/resume", hroute((*human.HTTP).ResumeAnnotator), admin},
	{"GET", "/v1/jobs/{id}/answers", hroute((*human.HTTP).JobAnswers), admin | submitter | viewer},
	{"GET", "/metrics", (*api0).metrics, admin | viewer}, // or anyone: SecurityConfig.PublicMetrics

	// Model training (issue 6): training curves.
	{"GET", "/v1/jobs/{id}/metrics", (*api0).jobMetrics, admin | submitter | viewer},

	// Security (issue 9): API tokens.
	{"POST", "/v1/tokens", (*api0).createToken, admin},
	{"GET", "/v1/tokens", (*api0).listTokens, admin},
	{"POST", "/v1/tokens/{id}/revoke", (*api0).revokeToken, admin},

	// Dashboard and observability (issue 8). The pages are static; their
	// data comes from the API with the signed-in session (session.go).
	{"GET", "/", (*api0).root, anyone},
	{"GET", "/ui/", (*api0).ui, anyone},
	{"GET", "/ui/{file}", (*api0).ui, anyone},
	{"GET", "/login", (*api0).loginForm, anyone},
	{"POST", "/login", (*api0).login, anyone},
	{"POST", "/logout", (*api0).logout, anyone},
	{"GET", "/v1/events", (*api0).events, admin | viewer},
	{"POST", "/v1/jobs/{id}/retry", (*api0).retry, admin | submitter},

	// Profiling the coordinator (issue 3): Go's pprof, admin only.
	{"GET", "/debug/pprof/", (*api0).pprofIndex, admin},
	{"GET", "/debug/pprof/profile", (*api0).pprofProfile, admin},
	{"GET", "/debug/pprof/trace", (*api0).pprofTrace, admin},
}
