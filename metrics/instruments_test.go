package metrics

import (
	"runtime"
	"testing"
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
