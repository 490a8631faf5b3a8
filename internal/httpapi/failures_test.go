package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestScrapeFailuresSayTheDamageAtError: a scrape that was the first to
// meet a damaged database file said it at WARN, the level of its other
// failures, and so the only line on the damage was a warning. It is said
// at ERROR, once, and the scrape's other failures stay at WARN.
func TestScrapeFailuresSayTheDamageAtError(t *testing.T) {
	var log testkit.LogBuffer
	onError := ScrapeFailures(&memInbox{}, slog.New(slog.NewTextHandler(&log, nil)))
	damaged := fmt.Errorf("read agent loads: %w: database disk image is malformed", store.ErrCorrupt)
	other := errors.New("read agent loads: interrupted")
	for range 3 {
		onError(damaged)
	}
	onError(other)

	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("three damaged scrapes and another failure logged %d lines, want 2:\n%s", len(lines), log.String())
	}
	for i, want := range []string{
		`level=ERROR msg="metrics collector: the database file is damaged"`,
		`level=WARN msg="metrics collector" err="read agent loads: interrupted"`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %s, want it to hold %s", i+1, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], "restore it from a backup") {
		t.Errorf("the damage is said without the remedy: %s", lines[0])
	}
}
