package mirror_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestQueueAsOfZeroWhileTheDatabaseIsDamaged: with the conversations
// table damaged, the page and the API serve only what can still be read,
// yet QueueAsOf keeps the last completed sync's time, so the page's
// banner says "every ticket is in it" and the API adds queue_as_of, the
// whole-but-stale answer meant for a restart while Help Scout is down.
func TestQueueAsOfZeroWhileTheDatabaseIsDamaged(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 60})
	path := e.storeAt(t)
	m := e.mirror(mirror.Options{})
	syncOnce(t, m)

	testkit.DamageTable(t, path, "conversations")
	c := e.fake.Conversations()[0]
	if err := e.fake.SetTags(c.ID, []string{"after-the-damage"}, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	_, err := m.SyncOnce(context.Background())
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("SyncOnce on a damaged conversations table: %v; the test needs store.ErrCorrupt", err)
	}
	// As the daemon's loop says it (Run), which holds the file damaged.
	store.LogFailure(e.db, slog.New(slog.DiscardHandler), slog.LevelError, "sync failed", err)
	if ok, why := m.Ready(); ok || why != store.ErrCorruptReason {
		t.Fatalf("Ready() = %v, %q; the test needs %q", ok, why, store.ErrCorruptReason)
	}
	if at, inherited := m.QueueAsOf(); !at.IsZero() {
		t.Errorf("the conversations table damaged: QueueAsOf() = %v, %v; want zero: only what can still be read is served, not the whole queue", at, inherited)
	}

	// Help Scout down next: that failure becomes /readyz's reason, but the
	// file is as damaged as before.
	e.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1})
	e.clock.Advance(time.Minute)
	if _, err := m.SyncOnce(context.Background()); err == nil {
		t.Fatal("SyncOnce with Help Scout down succeeded; the test needs it to fail")
	}
	if at, inherited := m.QueueAsOf(); !at.IsZero() {
		t.Errorf("the file still damaged, the latest sync failed on Help Scout: QueueAsOf() = %v, %v; want zero", at, inherited)
	}
}
