package sim

import (
	"testing"
	"time"
)

// BenchmarkWeekTenAgents is issue 6's speed target: one simulated week of a
// 10-agent team (monday-surge: ten st and sst plus a HoS) under all three
// policies, under 5 seconds.
func BenchmarkWeekTenAgents(b *testing.B) {
	sc, err := Builtin("monday-surge")
	if err != nil {
		b.Fatal(err)
	}
	var rep Report
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		rep, err = Compare(sc, Policies())
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/week-3-policies")
	b.ReportMetric(float64(rep.Results[0].Conversations), "conversations")
}
