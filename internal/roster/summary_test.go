package roster

import (
	"strings"
	"testing"
)

// TestWriteSummary: each entry as it will apply, in the file's order, the
// count by role, and what everyone else gets.
func TestWriteSummary(t *testing.T) {
	r, err := Parse([]byte(`{
  "defaults": {"role": "st", "level": 2, "hours": "Mon-Fri 08:00-16:00", "timezone": "America/New_York"},
  "agents": [
    {"email": "sam@example.com", "role": "sst", "level": 3},
    {"email": "lee@example.com", "role": "hos", "escalations": true},
    {"id": 256, "level": 1, "max_open": 12, "hours": "Mon-Fri 09:00-17:00; Sat 10:00-14:00", "timezone": "Europe/Berlin"},
    {"id": 300, "level": 4},
    {"email": "bot@example.com", "role": "exclude"}
  ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := r.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	want := `  5 listed: 1 sst, 2 st, 1 hos, 1 exclude
  everyone else: st, level 2, capacity 1, on shift Mon-Fri 08:00-16:00 (America/New_York)
  agents[0] (sam@example.com)  sst, level 3, capacity 1.25, on shift Mon-Fri 08:00-16:00 (America/New_York)
  agents[1] (lee@example.com)  hos, level 2, capacity 1, takes stuck-ticket escalations, on shift Mon-Fri 08:00-16:00 (America/New_York)
  agents[2] (id 256)           st, level 1, capacity 0.5, at most 12 open, on shift Mon-Fri 09:00-17:00; Sat 10:00-14:00 (Europe/Berlin)
  agents[3] (id 300)           st, level 4, capacity 1, on shift Mon-Fri 08:00-16:00 (America/New_York)
  agents[4] (bot@example.com)  exclude: ignored, tickets never touched
`
	if got := b.String(); got != want {
		t.Errorf("summary:\n%s\nwant:\n%s", got, want)
	}
}

// TestWriteSummaryWithoutAFile: the default roster names nobody, and says
// that everyone is an ST at level 2, on shift whenever Help Scout says so.
func TestWriteSummaryWithoutAFile(t *testing.T) {
	var b strings.Builder
	if err := Default().WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	want := "  0 listed: nobody\n  everyone else: st, level 2, capacity 1, no hours: on shift whenever Help Scout shows them Active\n"
	if got := b.String(); got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
}
