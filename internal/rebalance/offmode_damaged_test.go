package rebalance

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestRunSaysADamagedFileOnce: under QW_MODE=off every tick reads the
// approved moves' conversations from the mirror, and on a damaged file
// every tick failed and logged "balancer run failed" at ERROR. The damage
// is said once between all that meet it (store.DB.SayFailure), with what
// it is, however many ticks fail on it.
func TestRunSaysADamagedFileOnce(t *testing.T) {
	w := newWorld(t, 2)
	var log testkit.LogBuffer
	r, _, _ := approveWhileOff(t, w, func(off *Options) { off.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	repair := testkit.DamageTable(t, w.dbPath, "conversations")
	defer repair()
	if _, err := r.RunOnce(context.Background()); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("an off-mode tick on the damaged file: %v, want store.ErrCorrupt", err)
	}

	const ticks = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	asked := 0
	ready := func() (bool, string) { // asked before each tick's run
		if asked++; asked > ticks {
			cancel()
			return false, "stop"
		}
		return true, ""
	}
	r.Run(ctx, time.Millisecond, ready)
	said := log.String()
	if n := strings.Count(said, "level=ERROR"); n != 1 || !strings.Contains(said, `msg="balancer run failed: the database file is damaged"`) ||
		!strings.Contains(said, "restore it from a backup") {
		t.Errorf("%d ERROR lines over %d ticks on a damaged file, want 1 saying the file is damaged, with the remedy:\n%s", n, ticks, said)
	}
}
