package sim

import (
	"testing"
	"time"
)

// BenchmarkWeekTenAgents is issue 6's speed target: one simulated week of a
// 10-agent team (monday-surge: ten st and sst plus a HoS) under every
// policy, under 5 seconds.
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
	b.ReportMetric(total.Seconds()/float64(b.N), "s/week-all-policies")
	b.ReportMetric(float64(rep.Results[0].Conversations), "conversations")
}

// BenchmarkSuite is the wall time of the suite that judges a balancer
// change (simulate --scenario all --seeds 1-5 --policies
// balanced,queuewrangler,queuewrangler-own): every built-in scenario, five
// seeds, three policies, on however many cores the machine has.
func BenchmarkSuite(b *testing.B) {
	var scenarios []Scenario
	for _, name := range BuiltinNames() {
		sc, err := Builtin(name)
		if err != nil {
			b.Fatal(err)
		}
		scenarios = append(scenarios, sc)
	}
	policies := []string{PolicyBalanced, PolicyQueuewrangler, PolicyQueuewranglerOwn}
	var total time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := RunSuite(scenarios, []int64{1, 2, 3, 4, 5}, policies, Options{}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/suite")
	b.ReportMetric(float64(len(scenarios)*5*len(policies)), "weeks/suite")
}
