package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// lastSyncSuccess reads the daemon's /metrics at addr: when its latest
// successful sync ended (queuewrangler_sync_last_success_timestamp_seconds,
// 0 before the first), or false with the reason.
func lastSyncSuccess(addr string) (float64, bool, string) {
	const name = "queuewrangler_sync_last_success_timestamp_seconds"
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false, err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Sprintf("/metrics answered %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if n, value, ok := strings.Cut(sc.Text(), " "); ok && n == name {
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return 0, false, fmt.Sprintf("/metrics: %s %q: %v", name, value, err)
			}
			return v, true, ""
		}
	}
	if err := sc.Err(); err != nil {
		return 0, false, err.Error()
	}
	return 0, false, "/metrics has no " + name
}

// waitForSyncs waits until n syncs have succeeded since it was called (the
// first of them may have begun before): the daemon has then polled Help
// Scout n times to the end (and its balancer, on the same interval, has
// had its turns between them).
//
// It counts the changes of the last success's time, which is set only
// when a sync ends without error; queuewrangler_syncs_total counts a sync
// when it begins, so a sync still running would count as done. The time
// is in whole seconds and each scrape sees only the latest, so two syncs
// ending within one second, or between two scrapes, count as one: the
// wait may run a sync longer than asked, never shorter.
func waitForSyncs(t testing.TB, addr string, n int, timeout time.Duration) {
	t.Helper()
	var last float64
	testkit.WaitFor(t, timeout, "the daemon's /metrics", func() (bool, string) {
		v, ok, why := lastSyncSuccess(addr)
		last = v
		return ok, why
	})
	seen := 0
	testkit.WaitFor(t, timeout, fmt.Sprintf("%d more successful syncs", n), func() (bool, string) {
		v, ok, why := lastSyncSuccess(addr)
		if !ok {
			return false, why
		}
		if v != last {
			last, seen = v, seen+1
		}
		return seen >= n, fmt.Sprintf("%d of %d so far", seen, n)
	})
}

// TestWaitForSyncsWaitsForTheSyncToFinish: queuewrangler_syncs_total
// counts a sync when it starts, so a sync still running, or one that
// then fails, must not count as one that succeeded. The daemon here is
// scripted by scrape: idle with one sync done when waitForSyncs starts;
// then a sync runs, fails, and the next one runs and succeeds at scrape
// 11. Waiting for one sync must return only then.
func TestWaitForSyncsWaitsForTheSyncToFinish(t *testing.T) {
	t.Parallel()
	const finishedAt = 11
	var mu sync.Mutex
	scrapes := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		scrapes++
		n := scrapes
		mu.Unlock()
		syncs, failures, lastSuccess := 1, 0, 1_700_000_000
		switch {
		case n == 1: // idle
		case n < 6: // the second sync runs
			syncs = 2
		case n < 9: // and fails
			syncs, failures = 2, 1
		case n < finishedAt: // the third runs
			syncs, failures = 3, 1
		default: // and succeeds
			syncs, failures, lastSuccess = 3, 1, lastSuccess+1
		}
		fmt.Fprintf(w, "# TYPE queuewrangler_syncs_total counter\nqueuewrangler_syncs_total %d\n", syncs)
		fmt.Fprintf(w, "queuewrangler_sync_failures_total %d\n", failures)
		fmt.Fprintf(w, "queuewrangler_sync_last_success_timestamp_seconds %.9e\n", float64(lastSuccess))
	}))
	defer srv.Close()
	waitForSyncs(t, strings.TrimPrefix(srv.URL, "http://"), 1, time.Minute)
	mu.Lock()
	defer mu.Unlock()
	if scrapes < finishedAt {
		t.Errorf("waitForSyncs(1) returned at scrape %d, while the sync it waited for ran until scrape %d", scrapes, finishedAt)
	}
}
