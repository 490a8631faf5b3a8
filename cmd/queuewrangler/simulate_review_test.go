package main

import (
	"strings"
	"testing"
)

// TestSimulateSaysEveryProblemAtOnce: simulate reports every problem with
// its flags at once, with exit code 2. Two slip through Prepare: the
// suite's need of balanced among the policies is checked only by Run, so
// a command line with another mistake takes two runs to fix; and a
// scenario that exists but cannot be read (a directory) ends the check
// with exit code 1, dropping the flag problems collected before it.
func TestSimulateSaysEveryProblemAtOnce(t *testing.T) {
	good := writeScenario(t, "good.json", shortScenario)
	for _, tt := range []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{"seeds without balanced, and a bad backlog",
			[]string{"--scenario", good, "--seeds", "1", "--policies", "queuewrangler", "--backlog", "soon"},
			[]string{"--backlog", "compares with balanced"}},
		{"a bad policy, and a scenario that is a directory",
			[]string{"--scenario", t.TempDir(), "--policies", "none,fifo"},
			[]string{`--policies: policy "fifo"`, "directory"}},
		{"seeds of no scenario",
			[]string{"--scenario", ",", "--seeds", "1-2", "--policies", "balanced"},
			[]string{"scenario"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, append([]string{"simulate"}, tt.args...)...)
			if code != exitUsage {
				t.Errorf("exit code %d, want %d; stdout:\n%s\nstderr:\n%s", code, exitUsage, out, errOut)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}
