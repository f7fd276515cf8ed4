package server

import (
	"net/http"
	"net/http/pprof"
)

// Go's profiles of the coordinator process, for the admin: CPU
// (/debug/pprof/profile?seconds=N), execution trace, and the runtime's
// named profiles (heap, goroutine, allocs, block, mutex) under
// /debug/pprof/{name}. For example:
//
//	curl -H "Authorization: Bearer $MYRIAD_TOKEN" -o cpu.out \
//	  'http://127.0.0.1:7070/debug/pprof/profile?seconds=10'
//	go tool pprof -top cpu.out
func (a *api0) pprofIndex(w http.ResponseWriter, r *http.Request)   { pprof.Index(w, r) }
func (a *api0) pprofProfile(w http.ResponseWriter, r *http.Request) { pprof.Profile(w, r) }
func (a *api0) pprofTrace(w http.ResponseWriter, r *http.Request)   { pprof.Trace(w, r) }
