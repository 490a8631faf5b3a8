package team

import (
	"math"
	"time"
)

// Percentile is the nearest-rank q-quantile of sorted (ascending): the
// value at rank ceil(q·n), the one definition of a response-time
// percentile on the page, in the Slack digest and in the simulation's
// scores; 0 for no values.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(max(Rank(len(sorted), q), 1), len(sorted))-1]
}

// Rank is the nearest rank of the q-quantile of n values, ceil(q·n),
// counted from 1: the values ranked above it are those Percentile leaves
// above the quantile.
func Rank(n int, q float64) int { return int(math.Ceil(q * float64(n))) }
