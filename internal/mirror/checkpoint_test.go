package mirror_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
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
