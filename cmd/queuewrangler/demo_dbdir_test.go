package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoDBInADirectoryThatDoesNotExist: the demo checks its --db file
// before it starts anything (store.RequireNew), but took a path whose
// directory does not exist for a new database: the demo then started,
// printed its addresses, and its daemon retried opening the file for as
// long as it ran, with a page that never became ready. A flag problem is
// reported at once with exit code 2, naming the directory; a demo that makes
// the directory instead is as good. Either way it must not start on a
// database it can never open.
func TestDemoDBInADirectoryThatDoesNotExist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-yet", "demo.db")
	// The bound is for a demo that starts and never opens its file.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	exited := make(chan int, 1)
	go func() { exited <- Main(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--db", path}, &stdout, &stderr) }()

	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case code := <-exited:
			if code != exitUsage || !strings.Contains(stderr.String(), filepath.Dir(path)) {
				t.Errorf("demo --db in a directory that does not exist: exit code %d, want %d with the directory named; stderr:\n%s",
					code, exitUsage, tail(stderr.String(), 2000))
			}
			return
		case <-tick.C:
			if _, err := os.Stat(path); err == nil {
				cancel() // the demo made the directory and its database: as good as a refusal
				<-exited
				return
			} else if !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if ctx.Err() != nil {
				<-exited
				t.Fatalf("demo --db in a directory that does not exist neither refused the path nor made it in 10 s; stderr:\n%s",
					tail(stderr.String(), 2000))
			}
		}
	}
}
