package mirror_test

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// Run empties the -wal file after every poll (store.Checkpoint), so that
// reads that never pause cannot make it grow without end: after the first
// sync and after a tick, before Updated, the file is empty.
func TestRunEmptiesTheWALAfterEachPoll(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 60})
	path := filepath.Join(t.TempDir(), "qw.db")
	e.db = testkit.OpenStoreAt(t, path)
	e.db.Now = e.clock.Now
	sizes := make(chan int64, 10)
	m := e.mirror(mirror.Options{Updated: func() {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Errorf("stat the -wal file: %v", err)
			return
		}
		select {
		case sizes <- fi.Size():
		default:
		}
	}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx, 50*time.Millisecond) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	for _, pass := range []string{"the first sync", "a poll"} {
		select {
		case n := <-sizes:
			if n != 0 {
				t.Errorf("after %s the -wal file holds %d bytes, want 0", pass, n)
			}
		case <-time.After(time.Minute):
			t.Fatalf("Updated was not called after %s", pass)
		}
	}
}

// TestCheckpointFailuresAreCounted: while another process keeps a read
// open, every poll's checkpoint fails. The log says so once; the -wal file
// then grew unseen, so each failure is counted in
// queuewrangler_checkpoint_failures_total, for an alert.
func TestCheckpointFailuresAreCounted(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 20})
	path := filepath.Join(t.TempDir(), "qw.db")
	e.db = testkit.OpenStoreAt(t, path)
	e.db.Now = e.clock.Now
	ins := metrics.NewInstruments(prometheus.NewRegistry())
	log := &testkit.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	passes := make(chan float64)
	m := e.mirror(mirror.Options{
		Metrics: ins,
		Logger:  slog.New(slog.NewTextHandler(log, nil)),
		Updated: func() {
			select {
			case passes <- testutil.ToFloat64(ins.CheckpointFailures):
			case <-ctx.Done():
			}
		},
	})
	syncOnce(t, m) // the -wal file holds its writes

	// Another process's read, begun while the log holds frames.
	outside, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	tx, err := outside.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM conversations").Scan(&n); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx, time.Millisecond) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	for poll := 1; poll <= 3; poll++ {
		if got := <-passes; got != float64(poll) {
			t.Errorf("after poll %d, queuewrangler_checkpoint_failures_total = %v, want %d", poll, got, poll)
		}
	}
	if n := strings.Count(log.String(), "checkpoint the database"); n != 1 {
		t.Errorf("%d log lines about the checkpoint over 3 failed ones, want 1:\n%s", n, log.String())
	}
}
