package rebalance

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// TestNewStartsEveryMoveSeriesAtZero: a counter series born at its first
// increment reads 1 in its first sample, so increase() and rate() miss the
// first move of each reason and outcome; the dashboard showed no move
// where the page listed one. New exports every reason under every outcome
// at 0 from the start, each with its kind: unassigned tickets are
// hand-outs, the other reasons reassignments.
func TestNewStartsEveryMoveSeriesAtZero(t *testing.T) {
	m := metrics.NewInstruments(prometheus.NewRegistry())
	New(nil, nil, Options{Metrics: m})
	if got, want := testutil.CollectAndCount(m.Reassignments), len(balancer.Reasons())*len(metrics.MoveOutcomes); got != want {
		t.Errorf("%d series of queuewrangler_reassignments_total, want %d", got, want)
	}
	for _, reason := range balancer.Reasons() {
		kind := metrics.KindReassignment
		if reason == balancer.ReasonUnassigned {
			kind = metrics.KindHandout
		}
		for _, outcome := range metrics.MoveOutcomes {
			if got := testutil.ToFloat64(m.Reassignments.WithLabelValues(string(reason), outcome, kind)); got != 0 {
				t.Errorf("%s %s %s = %g, want 0", reason, outcome, kind, got)
			}
		}
	}
	if got, want := testutil.CollectAndCount(m.Reassignments), len(balancer.Reasons())*len(metrics.MoveOutcomes); got != want {
		t.Errorf("%d series after reading the expected ones, want %d: a reason was started under the wrong kind", got, want)
	}
}
