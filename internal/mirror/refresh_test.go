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

// TestRereadQueue: one entry per conversation however often it is asked
// for, in order; a failed re-read goes back to the front until it has
// failed maxRereadAttempts times, a cancelled one without counting.
func TestRereadQueue(t *testing.T) {
	var q rereadQueue
	for _, id := range []int64{7, 8, 7, 9, 8} {
		q.add(id)
	}
	id, _ := q.next()
	if id != 7 {
		t.Fatalf("first = %d, want 7", id)
	}
	if q.add(7) {
		t.Error("a conversation being re-read was queued again")
	}
	for i := 1; i < maxRereadAttempts; i++ {
		if !q.retry(7, true) {
			t.Fatalf("dropped after %d failures, want %d", i, maxRereadAttempts)
		}
		if got, _ := q.next(); got != 7 {
			t.Fatalf("after a failure next = %d, want 7 again", got)
		}
	}
	if !q.retry(7, false) {
		t.Error("a cancelled re-read counted as a failure")
	}
	q.next()
	if q.retry(7, true) {
		t.Errorf("kept after %d failures", maxRereadAttempts)
	}
	var rest []int64
	for id, ok := q.next(); ok; id, ok = q.next() {
		rest = append(rest, id)
		q.done(id)
	}
	if len(rest) != 2 || rest[0] != 8 || rest[1] != 9 {
		t.Errorf("rest = %v, want [8 9]", rest)
	}
	if !q.add(7) {
		t.Error("a dropped conversation cannot be queued again")
	}
}

// TestRereadQueueParkNew: a Refresh that met a damaged file parks its
// conversation unless it already waits, and it comes back, once, with the
// other parked ones.
func TestRereadQueueParkNew(t *testing.T) {
	var q rereadQueue
	q.add(8)
	q.parkNew(8) // waits already: stays where it is
	q.parkNew(7)
	q.parkNew(7)
	if !q.setAside(7) || q.setAside(8) {
		t.Errorf("set aside: 7 %v, 8 %v; want 7 only", q.setAside(7), q.setAside(8))
	}
	if q.add(7) {
		t.Error("a parked conversation was queued again")
	}
	q.unpark()
	var got []int64
	for id, ok := q.next(); ok; id, ok = q.next() {
		got = append(got, id)
		q.done(id)
	}
	if len(got) != 2 || got[0] != 8 || got[1] != 7 {
		t.Errorf("after unpark the queue gives %v, want [8 7]", got)
	}
}
