package mirror_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestMarkOfACompletedSyncFailingIsSaidOnce: the mark of a completed sync
// is now written at every poll. On a full disk an idle poll writes
// nothing else, so it completes, and only the mark's write fails: the
// log said so at WARN at every poll (every 30 s by default, for as long
// as the disk stays full), where the checkpoint beside it says such a
// run of failures once.
func TestMarkOfACompletedSyncFailingIsSaidOnce(t *testing.T) {
	dir := testkit.MountTinyFS(t, "2m")

	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 5})
	e.db = testkit.OpenStoreAt(t, filepath.Join(dir, "qw.db"))
	e.db.Now = e.clock.Now
	log := &testkit.LogBuffer{}
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(log, nil))})
	syncOnce(t, m)
	if err := e.db.Checkpoint(context.Background()); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	filler := testkit.FillDisk(t, dir)

	const polls = 4
	for i := range polls {
		e.clock.Advance(30 * time.Second)
		if _, err := m.SyncOnce(context.Background()); err != nil {
			t.Fatalf("idle poll %d on a full disk: %v; the test needs it to complete", i+1, err)
		}
	}
	const line = "store the mark of a completed sync"
	if n := strings.Count(log.String(), line); n != 1 {
		t.Errorf("%d idle polls on a full disk logged %q %d times; want once for the run of failures:\n%s", polls, line, n, log)
	}

	// Space again: the next poll stores the mark, and says so once.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Second)
	syncOnce(t, m)
	const again = line + ": done again"
	if n := strings.Count(log.String(), again); n != 1 {
		t.Errorf("a poll with space again logged %q %d times; want once:\n%s", again, n, log)
	}
}
