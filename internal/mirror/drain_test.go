package mirror_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// queueMoveBehindSync starts Run with its sync stuck on the conversation
// listing (held until the request is cancelled), moves an active
// conversation in the fake as the balancer would, and calls Refresh, which
// can only queue it. It stops Run, checks that the store still holds the
// old assignee (the queue was not worked through), and returns the moved
// conversation and its new assignee.
func queueMoveBehindSync(t *testing.T, e *env, m *mirror.Mirror) (conv, to int64) {
	t.Helper()
	listing := make(chan struct{})
	var once sync.Once
	e.log.setBefore(func(r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v2/conversations" {
			once.Do(func() { close(listing) })
			<-r.Context().Done()
		}
	})
	t.Cleanup(func() { e.log.setBefore(nil) })
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	select {
	case <-listing:
	case <-time.After(time.Minute):
		t.Fatal("Run never listed conversations")
	}

	for _, c := range e.fake.Conversations() {
		if c.Status != helpscouttest.StatusActive {
			continue
		}
		for _, a := range e.acct.Agents {
			if a != c.AssigneeID {
				conv, to = c.ID, a
				break
			}
		}
		break
	}
	if conv == 0 {
		t.Fatal("the seeded account has no active conversation")
	}
	if err := e.fake.Assign(conv, 0, to, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := m.Refresh(context.Background(), conv); err != nil {
		t.Fatalf("Refresh while a sync runs: %v", err)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := storedAssignee(t, e, conv); got == to {
		t.Fatal("the store already holds the move before Drain: the test no longer queues it behind a sync")
	}
	return conv, to
}

func storedAssignee(t *testing.T, e *env, id int64) int64 {
	t.Helper()
	c, _, err := e.db.Conversation(context.Background(), id)
	if err != nil {
		t.Fatalf("read conversation %d: %v", id, err)
	}
	return c.AssigneeID
}

// TestDrainStoresAMoveQueuedBehindASync: a move made while a sync holds the
// mirror's lock is only queued; the daemon then stops, cancelling that
// sync. Drain, at shutdown, brings the new assignee into the store, which
// otherwise would only see it at the next start.
func TestDrainStoresAMoveQueuedBehindASync(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 41, Conversations: 30})
	logs := &testkit.LogBuffer{}
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	syncOnce(t, m)
	conv, to := queueMoveBehindSync(t, e, m)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel() // as the daemon's context is at shutdown
	if left := m.Drain(cancelled); left != 0 {
		t.Errorf("Drain left %d conversations, want 0; log:\n%s", left, logs)
	}
	if got := storedAssignee(t, e, conv); got != to {
		t.Errorf("conversation %d is stored with assignee %d after Drain, want %d (the move)", conv, got, to)
	}
	if m.Drain(context.Background()) != 0 {
		t.Error("a second Drain found something left")
	}
}

// TestDrainIsBounded: when Help Scout does not answer the re-read, Drain
// gives up at its deadline and logs how many conversations it left.
func TestDrainIsBounded(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 42, Conversations: 30})
	logs := &testkit.LogBuffer{}
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), DrainTimeout: 200 * time.Millisecond})
	syncOnce(t, m)
	queueMoveBehindSync(t, e, m)

	e.log.setBefore(func(r *http.Request) { <-r.Context().Done() }) // Help Scout hangs
	start := time.Now()
	if left := m.Drain(context.Background()); left != 1 {
		t.Errorf("Drain left %d conversations, want 1", left)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Drain took %s with a 200ms bound", took)
	}
	if text := logs.String(); !strings.Contains(text, "not re-read") || !strings.Contains(text, "count=1") {
		t.Errorf("the log does not say how many conversations were left:\n%s", text)
	}
}
