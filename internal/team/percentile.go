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
	rank := int(math.Ceil(q * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}
