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
	if id, ok := m.rereads.next(); !ok || id != 42 {
		t.Fatalf("queued %d (%v), want 42", id, ok)
	}
	if _, more := m.rereads.next(); more {
		t.Error("more than one conversation queued")
	}
	select {
	case <-m.wake:
	default:
		t.Error("Refresh queued the conversation without waking the loop")
	}
}
