package main

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackfillCommand: backfill's flags and variables in -h, its usage
// errors (exit 2), the advice on a missing mirror (exit 1), and a run
// beside the daemon that holds the file, office-hours twins included.
func TestBackfillCommand(t *testing.T) {
	code, help, _ := runMain(t, "backfill", "-h")
	for _, want := range []string{"-since", "90d", "-step", "QW_DB_PATH", "QW_OFFICE_HOURS"} {
		if code != exitOK || !strings.Contains(help, want) {
			t.Errorf("backfill -h (exit %d) lacks %q", code, want)
		}
	}
	for _, args := range [][]string{{"--since", "ninety days"}, {"--step", "1500ms"}, {"--since", "0d"}, {"extra"},
		{"--since", "2d", "--step", "7d"}} { // a step past the period started the text before it
		if code, out, errOut := runMain(t, append([]string{"backfill"}, args...)...); code != exitUsage || out != "" {
			t.Errorf("backfill %q: exit %d, stdout %q, stderr %q; want exit 2 and nothing written", args, code, out, errOut)
		}
	}
	t.Setenv("QW_DB_PATH", filepath.Join(t.TempDir(), "none.db"))
	if code, _, errOut := runMain(t, "backfill"); code != exitFailure || !strings.Contains(errOut, "sync") {
		t.Errorf("backfill without a mirror: exit %d, %q; want exit 1 and the advice to sync", code, errOut)
	}

	_, _, apiURL := promFake(t)
	db := filepath.Join(t.TempDir(), "qw.db")
	startDaemon(t, apiURL, io.Discard, map[string]string{"QW_DB_PATH": db, "QW_OFFICE_HOURS": "Mon-Sun 00:00-24:00 UTC"})
	code, out, errOut := runMain(t, "backfill", "--since", "2d")
	if code != exitOK || !strings.HasSuffix(out, "\n# EOF\n") || !strings.Contains(errOut, "the seam") {
		t.Fatalf("backfill beside the daemon: exit %d, stderr %q", code, errOut)
	}
	for _, name := range []string{"helpscout_first_response_seconds", "helpscout_resolution_seconds",
		"helpscout_first_response_office_seconds", "helpscout_resolution_office_seconds"} {
		if !strings.Contains(out, "# TYPE "+name+" histogram\n") {
			t.Errorf("backfill wrote no %s", name)
		}
	}
}
