package metrics

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestNewRegistry: the daemon's registry carries the Go runtime's and the
// process's figures beside queuewrangler's own.
func TestNewRegistry(t *testing.T) {
	reg := NewRegistry()
	NewInstruments(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	want := []string{"go_goroutines", "queuewrangler_syncs_total"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_cpu_seconds_total")
	}
	for _, name := range want {
		if !got[name] {
			t.Errorf("registry lacks %s", name)
		}
	}
}

// TestOfficeHoursInstruments: the office-hours histograms and the target
// gauge exist only once enabled, and then with the live histograms' labels
// and buckets.
func TestOfficeHoursInstruments(t *testing.T) {
	names := func(reg *prometheus.Registry) map[string]*dto.MetricFamily {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*dto.MetricFamily{}
		for _, mf := range mfs {
			out[mf.GetName()] = mf
		}
		return out
	}
	office := []string{"helpscout_first_response_office_seconds", "helpscout_resolution_office_seconds",
		"queuewrangler_office_first_response_target_seconds"}

	plain := prometheus.NewPedanticRegistry()
	m := NewInstruments(plain)
	if m.FirstResponseOffice != nil || m.ResolutionOffice != nil {
		t.Error("office-hours histograms exist before EnableOfficeHours")
	}
	for _, name := range office {
		if _, ok := names(plain)[name]; ok {
			t.Errorf("%s exported without office hours", name)
		}
	}

	reg := prometheus.NewPedanticRegistry()
	m = NewInstruments(reg)
	m.EnableOfficeHours(reg, 4*time.Hour)
	m.FirstResponse.WithLabelValues("1", "2").Observe(7200)
	m.FirstResponseOffice.WithLabelValues("1", "2").Observe(3600)
	m.Resolution.WithLabelValues("1").Observe(7200)
	m.ResolutionOffice.WithLabelValues("1").Observe(3600)
	got := names(reg)
	if g := got["queuewrangler_office_first_response_target_seconds"]; g == nil || g.GetMetric()[0].GetGauge().GetValue() != 4*3600 {
		t.Errorf("target gauge = %v, want 14400", g)
	}
	for live, twin := range map[string]string{
		"helpscout_first_response_seconds": "helpscout_first_response_office_seconds",
		"helpscout_resolution_seconds":     "helpscout_resolution_office_seconds",
	} {
		l, o := got[live].GetMetric()[0], got[twin].GetMetric()[0]
		var lb, ob []float64
		for _, b := range l.GetHistogram().GetBucket() {
			lb = append(lb, b.GetUpperBound())
		}
		for _, b := range o.GetHistogram().GetBucket() {
			ob = append(ob, b.GetUpperBound())
		}
		if !slices.Equal(lb, ob) || len(lb) != len(SupportTimeBuckets) {
			t.Errorf("%s buckets %v, want %s's %v", twin, ob, live, lb)
		}
		if fmt.Sprint(l.GetLabel()) != fmt.Sprint(o.GetLabel()) {
			t.Errorf("%s labels %v, want %s's %v", twin, o.GetLabel(), live, l.GetLabel())
		}
	}
}
