package server

// Per-caller rate limits (issue 9): requests per token per second, and
// answers per annotator per second. Each is a token bucket
// (golang.org/x/time/rate) per principal; a caller over its rate gets a
// 429 with Retry-After and a JSON error saying which limit it hit.

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/myriadhq/myriad/api"
)

// Defaults for the rate limits (HandlerOptions, Config, the server's
// flags). Workers make a few requests a second each, so one worker token
// shared by a large pool stays well under DefaultRateLimit; an annotator
// answers a few items a minute, so DefaultAnswerRate only stops scripts.
const (
	DefaultRateLimit   = 1000 // requests per second per token
	DefaultRateBurst   = 2000
	DefaultAnswerRate  = 5 // answers per second per annotator
	DefaultAnswerBurst = 20
)

// limits holds a token bucket per caller.
type limits struct {
	perToken, perAnswer rate.Limit
	tokenBurst          int
	answerBurst         int

	mu      sync.Mutex
	tokens  map[string]*rate.Limiter
	answers map[string]*rate.Limiter
}

// newLimits makes the limits; a negative rate turns that limit off.
func newLimits(perToken float64, tokenBurst int, perAnswer float64, answerBurst int) *limits {
	l := &limits{tokens: map[string]*rate.Limiter{}, answers: map[string]*rate.Limiter{}}
	l.perToken, l.tokenBurst = limitOf(perToken, DefaultRateLimit), burstOf(tokenBurst, DefaultRateBurst)
	l.perAnswer, l.answerBurst = limitOf(perAnswer, DefaultAnswerRate), burstOf(answerBurst, DefaultAnswerBurst)
	return l
}

func limitOf(v, def float64) rate.Limit {
	switch {
	case v < 0:
		return rate.Inf
	case v == 0:
		return rate.Limit(def)
	}
	return rate.Limit(v)
}

func burstOf(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

func (l *limits) limiter(m map[string]*rate.Limiter, key string, r rate.Limit, burst int) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := m[key]
	if lim == nil {
		lim = rate.NewLimiter(r, burst)
		m[key] = lim
	}
	return lim
}

// allow takes one request from p's bucket, or answers 429.
func (l *limits) allow(w http.ResponseWriter, p *principal) bool {
	if l == nil || l.perToken == rate.Inf || p.id == "" {
		return true // p.id is "" only without authentication (loopback)
	}
	return take(w, l.limiter(l.tokens, p.id, l.perToken, l.tokenBurst), "requests per token", float64(l.perToken))
}

// allowAnswer takes one answer from the annotator's bucket, or answers 429.
func (l *limits) allowAnswer(w http.ResponseWriter, p *principal) bool {
	if l == nil || l.perAnswer == rate.Inf {
		return true
	}
	return take(w, l.limiter(l.answers, p.id, l.perAnswer, l.answerBurst), "answers per annotator", float64(l.perAnswer))
}

func take(w http.ResponseWriter, lim *rate.Limiter, what string, perSecond float64) bool {
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(d, time.Second).Seconds()))))
		writeJSON(w, http.StatusTooManyRequests, api.Error{Error: fmt.Sprintf("rate limit: more than %g %s per second; retry later", perSecond, what)})
		return false
	}
	return true
}
