package api

import (
	"strconv"
	"strings"
	"time"
)

// RetryAfter reads the Retry-After header of a 429 (rate limited) answer,
// which the coordinator sends in whole seconds; def if it is missing,
// negative or a date. Callers bound the wait to what suits them.
func RetryAfter(header string, def time.Duration) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(header))
	if err != nil || s < 0 {
		return def
	}
	return time.Duration(s) * time.Second
}
