package main

import (
	"context"
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

// TestQueueMetricsAfterARestartWhoseFirstSyncFails: the collector waits
// for the first sync so that a half-read mirror is not taken for the
// queue. A daemon restarted on a database whose first sync finished long
// ago holds the whole queue, yet when its first poll fails (Help Scout
// down, the credentials changed, a full disk) it is not ready, and the
// queue's state was exported not at all: the dashboard went blank and the
// stuck-tickets and waiting alerts could not fire, while the freshness
// alert stays silent on the 0 of a process that has not synced yet.
func TestQueueMetricsAfterARestartWhoseFirstSyncFails(t *testing.T) {
	var refuse atomic.Bool
	_, cfg, ln := smallTeam(t, 2, rebalance.ModeOff, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if refuse.Load() {
				http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	daemon := func(ln net.Listener) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		runErr := make(chan error, 1)
		go func() { runErr <- run(ctx, cfg, ln, logger, time.Now) }()
		return func() {
			cancel()
			if err := <-runErr; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}

	stop := daemon(ln)
	// Finished, not only counted: queuewrangler_syncs_total counts a sync
	// as it starts, and a first sync stopped part-way leaves no queue to
	// inherit.
	testkit.WaitFor(t, 30*time.Second, "the first daemon's first sync to finish", func() (bool, string) {
		text, err := scrape(ln.Addr().String())
		if err != nil {
			return false, err.Error()
		}
		return !strings.Contains(text, "\nqueuewrangler_sync_last_success_timestamp_seconds 0\n") &&
			strings.Contains(text, "\nqueuewrangler_sync_last_success_timestamp_seconds "), "no finished sync yet"
	})
	stop()

	refuse.Store(true)
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop = daemon(ln2)
	defer stop()
	addr := ln2.Addr().String()
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
