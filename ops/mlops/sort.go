package mlops

import (
	"cmp"
	"slices"
	"strconv"
)

// sortBy sorts s stably by key.
func sortBy[T any](s []T, key func(T) int) {
	slices.SortStableFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}

func itoa(i int) string { return strconv.Itoa(i) }
