package mirror_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// HoldsQueue says no while a new database's first sync is reading the
// account (what it holds is a part of the queue), yes once that sync has
// finished, and yes from the start for a mirror an earlier run synced,
// before its own first sync has finished (the restart case is the
// daemon's test, TestQueueMetricsAfterARestartWhoseFirstSyncFails).
func TestHoldsQueue(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 5})
	var during, sawListing atomic.Bool
	var m *mirror.Mirror
	e.log.setBefore(func(r *http.Request) {
		if r.URL.Path == "/v2/conversations" && !sawListing.Swap(true) {
			ok, _ := m.HoldsQueue()
			during.Store(ok)
		}
	})
	m = e.mirror(mirror.Options{})
	if ok, why := m.HoldsQueue(); ok || why == "" {
		t.Errorf("before the first sync: HoldsQueue() = %v, %q; want false with a reason", ok, why)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	testkit.WaitFor(t, time.Minute, "the first sync", func() (bool, string) {
		ok, why := m.HoldsQueue()
		return ok, why
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !sawListing.Load() || during.Load() {
		t.Errorf("while the first sync listed conversations: HoldsQueue() = %v (listing seen: %v); want false", during.Load(), sawListing.Load())
	}

	// A second mirror on the same database: the first one's sync left its
	// cursor, so the queue is held as soon as Run has looked, before this
	// mirror's own sync has read anything.
	atListing := holdsQueueAtListing(t, e, mirror.Options{}, "")
	if !atListing {
		t.Error("a mirror an earlier run synced: HoldsQueue() was false during its own first sync")
	}
}
