package balancer

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchSizes are the team sizes issue 4 names, each snapshot built the same
// way so that the plan and its figures are measured on the same teams.
var benchSizes = []benchSize{{50, 2_000}, {1_000, 100_000}}

type benchSize struct{ agents, convs int }

func (s benchSize) name() string { return fmt.Sprintf("agents=%d/convs=%d", s.agents, s.convs) }

func (s benchSize) snapshot() Snapshot {
	return genSnapshot(rand.New(rand.NewPCG(1, 2)), genConfig{agents: s.agents, convs: s.convs, openOnly: true})
}

// BenchmarkPlan measures a whole plan on teams of the sizes issue 4 names:
// 1,000 agents with 100,000 open conversations (target under 100 ms) and
// 50 agents with 2,000 (target under 2 ms). The snapshot is built once,
// outside the timed loop, as the daemon builds it once per run.
func BenchmarkPlan(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name(), func(b *testing.B) {
			s, p := size.snapshot(), DefaultPolicy()
			b.ReportAllocs()
			var res Result
			for b.Loop() {
				res = Plan(s, p)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/plan")
			b.ReportMetric(float64(len(res.Moves)), "moves/plan")
			b.ReportMetric(float64(len(res.Flags)), "flags/plan")
			b.ReportMetric(float64(len(res.NoSenior)), "no-senior/plan")
		})
	}
}

// BenchmarkMeasure is the cost of the figures alone, as the page and the
// metrics compute them.
func BenchmarkMeasure(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name(), func(b *testing.B) {
			s, p := size.snapshot(), DefaultPolicy()
			b.ReportAllocs()
			for b.Loop() {
				Measure(s, p)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}

// BenchmarkBacklogKeeps is what the queue page's next steps add to the
// figures (team's View.Measure runs both).
func BenchmarkBacklogKeeps(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(size.name(), func(b *testing.B) {
			s, p := size.snapshot(), DefaultPolicy()
			b.ReportAllocs()
			var kept map[int64]bool
			for b.Loop() {
				kept = BacklogKeeps(s, p)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(len(kept)), "kept/op")
		})
	}
}
