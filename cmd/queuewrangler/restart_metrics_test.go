package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestQueueMetricsAfterARestartWhoseFirstSyncFails: the collector waits
// for the first sync so that a half-read mirror is not taken for the
// queue. A daemon restarted on a database whose first sync finished long
// ago holds the whole queue, yet when its first poll fails (Help Scout
// down, the credentials changed, a full disk) it is not ready, and the
// queue's state was exported not at all: the dashboard went blank and the
// stuck-tickets and waiting alerts could not fire, while the freshness
// alert stays silent on the 0 of a process that has not synced yet.
func TestQueueMetricsAfterARestartWhoseFirstSyncFails(t *testing.T) {
	d := newRefusable(t)
	addr := d.restartRefused(t, 0)
	testkit.WaitFor(t, 30*time.Second, "the restarted daemon's first sync to fail", func() (bool, string) {
		text, err := scrape(addr)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(text, "\nqueuewrangler_sync_failures_total 1\n"), "no failed sync yet"
	})
	text, err := scrape(addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, metric := range []string{"helpscout_unassigned_conversations{", "helpscout_stuck_conversations{"} {
		if !strings.Contains(text, "\n"+metric) {
			t.Errorf("after a restart on a database whose first sync finished before, /metrics has no %s...}: "+
				"the mirror holds the whole queue, but the first poll of this process failed", metric)
		}
	}
}

// scrape returns the daemon's /metrics text.
func scrape(addr string) (string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return "\n" + string(b), err
}
