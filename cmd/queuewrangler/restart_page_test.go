package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestPageAfterARestartWhoseFirstSyncFails: a daemon restarted while Help
// Scout refuses it holds the whole queue as of its last completed sync,
// and Grafana shows it (TestQueueMetricsAfterARestartWhoseFirstSyncFails);
// the page said the counts covered only what was read so far, and not how
// old the queue was. The page and the API now say it is whole, as of the
// earlier process's last sync, and that nothing is planned meanwhile; a
// new database whose first poll fails still says it is partial.
func TestPageAfterARestartWhoseFirstSyncFails(t *testing.T) {
	t.Run("restarted", func(t *testing.T) {
		d := newRefusable(t)
		lastSync := d.clock.Now() // the frozen clock: when the first daemon's sync began
		addr := d.restartRefused(t, 47*time.Minute)
		why := d.waitForFailedSync(t, addr)

		// Not "the first sync has not finished": the queue is whole.
		if !strings.HasPrefix(why, "no sync has completed since the restart; ") {
			t.Errorf("/readyz's reason after the restart: %q, want it to begin with %q", why, "no sync has completed since the restart; ")
		}
		page := get(t, "http://"+addr+"/")
		// The page dates a time that is not today's; the test runs at
		// any hour, and from 23:13 UTC the restart is on the next day.
		abs := lastSync.UTC().Format("15:04 MST")
		if lastSync.UTC().YearDay() != d.clock.Now().UTC().YearDay() {
			abs = lastSync.UTC().Format("Jan 2 15:04 MST")
		}
		want := `<strong>Not ready:</strong> ` + html.EscapeString(why) + `. The queue below is the mirror's as of its last completed sync, ` +
			`<time datetime="` + lastSync.UTC().Format(time.RFC3339) + `" title="` + abs + `">47m ago</time> <span class="abs">(` + abs + `)</span>: ` +
			`every ticket is in it, but what changed in Help Scout since is not. Until a sync completes, the balancer plans and moves nothing, and Plan now is refused.`
		if !strings.Contains(page, want) {
			t.Errorf("the page after a restart whose first sync fails lacks\n%s\nbanner: %s", want, banner(page))
		}
		if strings.Contains(page, "cover only what the mirror holds so far") {
			t.Error("the page calls the queue the mirror holds partial")
		}
		if strings.Contains(page, d.secret) {
			t.Error("the page shows the client secret")
		}
		agents := agentsAnswer(t, addr)
		if agents["not_ready"] != why || agents["queue_as_of"] != lastSync.UTC().Format(time.RFC3339) {
			t.Errorf("/api/v1/agents: not_ready %q, queue_as_of %v; want %q, %s", agents["not_ready"], agents["queue_as_of"], why, lastSync.UTC().Format(time.RFC3339))
		}
	})

	t.Run("new database", func(t *testing.T) {
		d := newRefusable(t)
		d.refuse.Store(true)
		defer d.start(t, d.ln)()
		addr := d.ln.Addr().String()
		why := d.waitForFailedSync(t, addr)
		page := get(t, "http://"+addr+"/")
		if want := `<strong>Not ready:</strong> ` + html.EscapeString(why) + `. Until the daemon is ready, the counts below cover only what the mirror holds so far`; !strings.Contains(page, want) {
			t.Errorf("a new database whose first sync fails: the page lacks %q; banner: %s", want, banner(page))
		}
		if agents := agentsAnswer(t, addr); agents["not_ready"] != why || agents["queue_as_of"] != nil {
			t.Errorf("/api/v1/agents: not_ready %q, queue_as_of %v; want %q and no queue_as_of", agents["not_ready"], agents["queue_as_of"], why)
		}
	})
}

// refusable is a small team's daemon on a frozen clock, whose Help Scout
// refuses every call (as changed credentials) while refuse is set.
type refusable struct {
	refuse atomic.Bool
	clock  *testkit.Clock
	cfg    *settings
	ln     net.Listener
	secret string
}

func newRefusable(t *testing.T) *refusable {
	d := &refusable{clock: testkit.NewClock(time.Now().UTC().Truncate(time.Minute))}
	_, d.cfg, d.ln = smallTeam(t, 2, rebalance.ModeOff, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d.refuse.Load() {
				http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	d.secret = d.cfg.HelpScoutClientSecret.Reveal()
	return d
}

// start runs the daemon on ln until the returned stop is called.
func (d *refusable) start(t *testing.T, ln net.Listener) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- run(ctx, d.cfg, ln, slog.New(slog.NewTextHandler(io.Discard, nil)), d.clock.Now) }()
	return func() {
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("run: %v", err)
		}
	}
}

// restartRefused runs the daemon until its first sync has completed,
// stops it, moves the clock on by after, and starts it again on a new
// listener with Help Scout refusing every call; it returns the address.
// The daemon stops at the end of the test.
func (d *refusable) restartRefused(t *testing.T, after time.Duration) (addr string) {
	t.Helper()
	stop := d.start(t, d.ln)
	// Completed, not only started: a first sync stopped part-way leaves
	// no queue to inherit.
	testkit.WaitFor(t, 30*time.Second, "the first daemon's first sync to complete", func() (bool, string) {
		resp, err := http.Get("http://" + d.ln.Addr().String() + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	stop()
	d.clock.Advance(after)
	d.refuse.Store(true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.start(t, ln))
	return ln.Addr().String()
}

// waitForFailedSync waits until /readyz says the first sync failed and
// returns its reason. A failed Help Scout call shows in the reason at
// once, while the sync goes on (past a refused directory, say) until it
// fails itself ("its last attempt failed"): a reason read in between is
// not the one the page shows next.
func (d *refusable) waitForFailedSync(t *testing.T, addr string) (why string) {
	t.Helper()
	testkit.WaitFor(t, 30*time.Second, "the daemon's first sync to fail", func() (bool, string) {
		var body struct{ Reason string }
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			return false, err.Error()
		}
		why = body.Reason
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(why, "its last attempt failed") &&
			strings.Contains(why, "the latest Help Scout call failed"), why
	})
	return why
}

func agentsAnswer(t *testing.T, addr string) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(get(t, "http://"+addr+"/api/v1/agents")), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// banner is the page's not-ready banner, for a failure message.
func banner(page string) string {
	i := strings.Index(page, `id="not-ready"`)
	if i < 0 {
		return "(none)"
	}
	end := strings.Index(page[i:], "</p>")
	return page[i : i+max(end, 0)]
}
