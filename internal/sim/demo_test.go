package sim

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestDemoEventsShowMovesAndProblems: the demo's terminal shows moves and
// problems, not every sync.
func TestDemoEventsShowMovesAndProblems(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(demoEvents{slog.NewTextHandler(&buf, nil)}).With("component", "x")
	log.Info("sync done", "pages", 1)
	log.Info("move applied", "reason", "overload")
	log.Warn("move failed", "why", "503")
	log.Debug("move applied")
	out := buf.String()
	if strings.Contains(out, "sync done") || strings.Count(out, "\n") != 2 ||
		!strings.Contains(out, `msg="move applied"`) || !strings.Contains(out, `msg="move failed"`) {
		t.Errorf("demo log:\n%s\nwant the move and the warning only", out)
	}
}
