package balancer

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkPlan measures a whole plan on teams of the sizes issue 4 names:
// 1,000 agents with 100,000 open conversations (target under 100 ms) and
// 50 agents with 2,000 (target under 2 ms). The snapshot is built once,
// outside the timed loop, as the daemon builds it once per run.
func BenchmarkPlan(b *testing.B) {
	for _, size := range []struct{ agents, convs int }{
		{50, 2_000},
		{1_000, 100_000},
	} {
		b.Run(fmt.Sprintf("agents=%d/convs=%d", size.agents, size.convs), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			s := genSnapshot(r, genConfig{agents: size.agents, convs: size.convs, openOnly: true})
			p := DefaultPolicy()
			b.ReportAllocs()
			var res Result
			for b.Loop() {
				res = Plan(s, p)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/plan")
			b.ReportMetric(float64(len(res.Moves)), "moves/plan")
			b.ReportMetric(float64(len(res.Flags)), "flags/plan")
		})
	}
}

// BenchmarkMeasure is the cost of the figures alone, as the page and the
// metrics compute them.
func BenchmarkMeasure(b *testing.B) {
	for _, size := range []struct{ agents, convs int }{
		{50, 2_000},
		{1_000, 100_000},
	} {
		b.Run(fmt.Sprintf("agents=%d/convs=%d", size.agents, size.convs), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			s := genSnapshot(r, genConfig{agents: size.agents, convs: size.convs, openOnly: true})
			p := DefaultPolicy()
			b.ReportAllocs()
			for b.Loop() {
				Measure(s, p)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		})
	}
}
