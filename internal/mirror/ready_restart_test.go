package mirror_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestReadySaysNoSyncSinceTheRestart: restarted while Help Scout is down,
// the mirror holds the whole queue as of an earlier process's last sync
// (QueueAsOf), yet its own reason said "the first sync has not finished",
// which only the HTTP edge corrected; whoever else asks the mirror (and
// the edge, were it wired otherwise) was told the mirror was half-read.
// From the moment Run finds the mark of a completed sync, and after each
// failed attempt, the reason now says what is true. A new mirror keeps
// its words, and a completed sync makes either ready.
func TestReadySaysNoSyncSinceTheRestart(t *testing.T) {
	const failed = "; its last attempt failed, see the log"
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 5})

	t.Run("new mirror", func(t *testing.T) {
		e.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1})
		m := e.mirror(mirror.Options{})
		if _, why := m.Ready(); why != "the first sync has not finished" {
			t.Errorf("before its first sync: Ready() reason %q, want %q", why, "the first sync has not finished")
		}
		if _, err := m.SyncOnce(context.Background()); err == nil {
			t.Fatal("SyncOnce succeeded with every Help Scout call failing")
		}
		if _, why := m.Ready(); why != "the first sync has not finished"+failed {
			t.Errorf("after a failed first sync: Ready() reason %q, want %q", why, "the first sync has not finished"+failed)
		}
		e.fake.SetFaults(helpscouttest.Faults{})
		syncOnce(t, m)
	})

	t.Run("restarted", func(t *testing.T) {
		// The reason as the restarted mirror's first Help Scout call is
		// made: after Run has read the mark, before any attempt ended.
		var (
			mu      sync.Mutex
			atFirst string
			m       *mirror.Mirror
		)
		e.log.setBefore(func(*http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if atFirst == "" {
				_, atFirst = m.Ready()
			}
		})
		e.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1})
		m = e.mirror(mirror.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, time.Hour) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		waitForReason(t, m, failed)

		mu.Lock()
		first := atFirst
		mu.Unlock()
		if want := "no sync has completed since the restart"; first != want {
			t.Errorf("restarted on a synced mirror, before its first attempt ended: Ready() reason %q, want %q", first, want)
		}
		if _, why := m.Ready(); why != "no sync has completed since the restart"+failed {
			t.Errorf("restarted on a synced mirror, first attempt failed: Ready() reason %q, want %q", why, "no sync has completed since the restart"+failed)
		}
		if _, why := m.ReadyWithCause(func() string { return "503 Service Unavailable" })(); why != "no sync has completed since the restart"+failed+"; the latest Help Scout call failed: 503 Service Unavailable" {
			t.Errorf("ReadyWithCause reason %q", why)
		}

		e.fake.SetFaults(helpscouttest.Faults{})
		syncOnce(t, m)
		if ok, why := m.Ready(); !ok {
			t.Errorf("after this process's first completed sync: not ready, %q", why)
		}
	})
}

// waitForReason waits until m's readiness reason contains part.
func waitForReason(t *testing.T, m *mirror.Mirror, part string) {
	t.Helper()
	testkit.WaitFor(t, time.Minute, "a readiness reason with "+strconv.Quote(part), func() (bool, string) {
		_, why := m.Ready()
		return strings.Contains(why, part), why
	})
}
