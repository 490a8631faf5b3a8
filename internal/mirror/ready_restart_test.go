package mirror_test

import (
	"context"
	"fmt"
	"log/slog"
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

// TestProgressAfterARestartSaysNoSyncSinceIt: the first poll after a
// restart on a synced mirror reads what changed while the daemon was
// down, page by page, and its reason said "first sync: 160 of 295
// conversations": as though the mirror held only what it had read so far
// (it holds the whole queue, as of the earlier process's last sync), with
// an end past the account's size (the store's count plus a listing of
// conversations it holds already). The reason and the log line now say no
// sync has completed since the restart, and count what this one has read
// of what changed.
func TestProgressAfterARestartSaysNoSyncSinceIt(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 160})
	syncOnce(t, e.mirror(mirror.Options{}))
	for _, c := range e.fake.Conversations() { // changed while the daemon was down
		if err := e.fake.SetTags(c.ID, []string{"bulk"}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Minute)

	var log testkit.LogBuffer
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	var slow slowListing
	slow.install(e, m, 10*time.Second, anyListing)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	testkit.WaitFor(t, time.Minute, "the restarted mirror's first sync", func() (bool, string) { return m.Ready() })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	reasons := slow.seen()
	if len(reasons) < 3 {
		t.Fatalf("the poll after the restart listed %d pages; the test needs 3", len(reasons))
	}
	total := len(e.fake.Conversations())
	for p, why := range reasons {
		want := "no sync has completed since the restart"
		if p > 0 {
			want = fmt.Sprintf("no sync has completed since the restart; under way: %d of %d conversations changed since the last sync", p*helpscouttest.ConversationPageSize, total)
		}
		if why != want {
			t.Errorf("reason as page %d was asked for: %q, want %q", p+1, why, want)
		}
	}
	// 10 s a page: 30 s have passed after pages 3 and 6.
	var want []string
	for _, p := range []int{3, 6} {
		n := p * helpscouttest.ConversationPageSize
		want = append(want, fmt.Sprintf(`level=INFO msg="sync since the restart under way" progress="%d of %d conversations changed since the last sync" pages=%d listed=%d size=%d`, n, total, p, n, total))
	}
	if got := progressLines(log.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
