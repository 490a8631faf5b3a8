package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// buildBinary builds the real queuewrangler binary into a temporary
// directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "queuewrangler")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// daemonEnv is the process environment without any QW_ variable of the
// caller's, plus vars.
func daemonEnv(vars ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QW_") {
			env = append(env, kv)
		}
	}
	return append(env, vars...)
}

// TestSyncResumesAfterSIGKILL is issue 3's crash test with the real binary:
// `queuewrangler sync` is killed with SIGKILL in the middle of its first
// sync of a slow account, then run again. The second run starts from the
// stored cursor (its first list request carries modifiedSince, and it reads
// fewer pages than a full walk), and the store ends equal to the fake: no
// duplicates, no gaps.
func TestSyncResumesAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and syncs 2,000 conversations twice")
	}
	const (
		n         = 2000
		fullWalk  = n / helpscouttest.ConversationPageSize
		killAfter = 20 // list pages served before the kill
		id        = "crash-test"
		secret    = "crash-test-secret"
	)
	bin := buildBinary(t)

	fake := helpscouttest.New(helpscouttest.Options{ClientID: id, ClientSecret: secret})
	t.Cleanup(func() { fake.Close() })
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 8, Conversations: n}); err != nil {
		t.Fatal(err)
	}
	// Slow enough that the kill lands mid-walk on a loaded machine too.
	fake.SetFaults(helpscouttest.Faults{Delay: 50 * time.Millisecond})
	log := &urlLog{next: fake}
	ts := httptest.NewServer(log)
	t.Cleanup(ts.Close)

	dbPath := filepath.Join(t.TempDir(), "qw.db")
	env := daemonEnv(
		"QW_HELPSCOUT_API_URL="+ts.URL, "QW_HELPSCOUT_CLIENT_ID="+id, "QW_HELPSCOUT_CLIENT_SECRET="+secret,
		"QW_DB_PATH="+dbPath, "QW_RATE_LIMIT_PER_MINUTE=100000", "QW_LOG_FORMAT=text", "QW_LOG_LEVEL=info",
	)

	// First run: kill it once killAfter list pages have been served.
	var out1 bytes.Buffer
	first := exec.Command(bin, "sync")
	first.Env, first.Stdout, first.Stderr = env, &out1, &out1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	deadline := time.After(2 * time.Minute)
	for killed := false; !killed; {
		select {
		case err := <-done:
			t.Fatalf("first sync ended before the kill (%v); output:\n%s", err, out1.String())
		case <-deadline:
			first.Process.Kill()
			t.Fatalf("first sync served fewer than %d list pages in 2 minutes; output:\n%s", killAfter, out1.String())
		case <-time.After(5 * time.Millisecond):
			urls, _ := log.since(0)
			if len(listPages(urls)) >= killAfter {
				if err := first.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
	}
	err := <-done
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("first sync: %v, want killed by SIGKILL", err)
	}
	urls, mark := log.since(0)
	firstPages := len(listPages(urls))
	if firstPages >= fullWalk {
		t.Fatalf("the kill came after the walk (%d of %d pages)", firstPages, fullWalk)
	}

	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("open the database left by the killed process: %v", err)
	}
	cur, err := db.Cursor(context.Background(), mirror.CursorConversations)
	if err != nil {
		t.Fatalf("no cursor after %d pages were served: %v", firstPages, err)
	}
	storedBefore, err := db.ConversationIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Second run, at full speed, to the end.
	fake.SetFaults(helpscouttest.Faults{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	second := exec.CommandContext(ctx, bin, "sync")
	second.Env = env
	out2, err := second.CombinedOutput()
	if err != nil {
		t.Fatalf("second sync: %v\n%s", err, out2)
	}
	urls, _ = log.since(mark)
	pages := listPages(urls)
	if len(pages) == 0 {
		t.Fatalf("second sync listed no conversations; output:\n%s", out2)
	}
	wantSince := cur.Value.Add(-5 * time.Minute).UTC().Format("2006-01-02T15:04:05Z")
	if got := pages[0].Query().Get("modifiedSince"); got != wantSince {
		t.Errorf("second sync's first list request: modifiedSince=%q, want the stored cursor minus the overlap, %q (%s)",
			got, wantSince, pages[0].RawQuery)
	}
	if len(pages) >= fullWalk {
		t.Errorf("second sync read %d list pages, a full walk is %d: it did not resume", len(pages), fullWalk)
	}

	db, err = store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	assertStoreMirrorsFake(t, db, fake)
	t.Logf("killed after %d list pages (%d conversations committed, cursor %s); the restart read %d pages (a full walk is %d)",
		firstPages, len(storedBefore), cur.Value.Format(time.RFC3339), len(pages), fullWalk)
	t.Logf("second sync printed:\n%s", out2)
}
