package server

import (
	"net/http"

	"github.com/myriadhq/myriad/human"
)

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

	// Human computation (issue 7): the annotator app and API, annotators.
	{"GET", "/annotate/", hroute((*human.HTTP).App)},
	{"GET", "/annotate/{file}", hroute((*human.HTTP).App)},
	{"POST", "/v1/annotate/signin", hroute((*human.HTTP).Signin)},
	{"POST", "/v1/annotate/signout", hroute((*human.HTTP).Signout)},
	{"GET", "/v1/annotate/me", hroute((*human.HTTP).Me)},
	{"GET", "/v1/annotate/stages", hroute((*human.HTTP).Stages)},
	{"POST", "/v1/annotate/next", hroute((*human.HTTP).Next)},
	{"POST", "/v1/annotate/tasks/{id}/answer", hroute((*human.HTTP).Answer)},
	{"POST", "/v1/annotate/tasks/{id}/skip", hroute((*human.HTTP).Skip)},
	{"POST", "/v1/annotate/tasks/{id}/undo", hroute((*human.HTTP).Undo)},
	{"POST", "/v1/annotators", hroute((*human.HTTP).CreateAnnotator)},
	{"GET", "/v1/annotators", hroute((*human.HTTP).ListAnnotators)},
	{"POST", "/v1/annotators/{name}/pause", hroute((*human.HTTP).PauseAnnotator)},
	{"POST", "/v1/annotators/{name}/resume", hroute((*human.HTTP).ResumeAnnotator)},
	{"GET", "/v1/jobs/{id}/answers", hroute((*human.HTTP).JobAnswers)},
	{"GET", "/metrics", (*api0).metrics},

	// Model training (issue 6): training curves.
	{"GET", "/v1/jobs/{id}/metrics", (*api0).jobMetrics},

	// Dashboard and observability (issue 8).
	{"GET", "/", (*api0).root},
	{"GET", "/ui/", (*api0).dashboard},
	{"GET", "/ui/{file}", (*api0).dashboard},
	{"GET", "/v1/events", (*api0).events},
	{"POST", "/v1/jobs/{id}/retry", (*api0).retry},
}
