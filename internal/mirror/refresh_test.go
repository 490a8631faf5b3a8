package mirror

import (
	"context"
	"testing"
)

// TestRefreshNeverWaitsForASync holds the mirror's lock as a sync would and
// checks that Refresh returns at once, queueing the conversation, and that
// the queue is taken by the loop's next pass.
func TestRefreshNeverWaitsForASync(t *testing.T) {
	m := New(nil, nil, Options{})
	m.mu.Lock()
	done := make(chan error, 1)
	go func() { done <- m.Refresh(context.Background(), 42) }()
	if err := <-done; err != nil {
		t.Fatalf("Refresh while a sync runs: %v", err)
	}
	m.mu.Unlock()
	m.queuedMu.Lock()
	queued := append([]int64(nil), m.queued...)
	m.queuedMu.Unlock()
	if len(queued) != 1 || queued[0] != 42 {
		t.Fatalf("queued %v, want [42]", queued)
	}
	select {
	case <-m.wake:
	default:
		t.Error("Refresh queued the conversation without waking the loop")
	}
}
