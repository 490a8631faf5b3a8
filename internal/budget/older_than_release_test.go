package budget

import (
	"testing"
	"time"
)

// TestHeedOlderFigureAfterAReleaseStartsNoHold: a figure from a request
// sent before the one whose figure released the hold was counted before
// Help Scout's minute reset. It is older news and must not hold the room
// back again; taken as new, it empties the room for a whole window from
// its arrival while the server has its whole minute left.
func TestHeedOlderFigureAfterAReleaseStartsNoHold(t *testing.T) {
	l, clock := clocked(10)
	older := spendNow(t, l, 1) // answered late, counted before the reset
	clock.Advance(time.Second)
	held := spendNow(t, l, 1)
	clock.Advance(time.Second)
	newer := spendNow(t, l, 1)
	l.heed(4, Window, held) // less the newer request's 1: room 3
	clock.Advance(20 * time.Second)
	l.heed(300, Window, newer) // Help Scout's minute has reset: released
	if got := room(l); got != 7 {
		t.Fatalf("room after the release = %d, want 7 (our 10 less our 3)", got)
	}
	l.heed(0, Window, older)
	if got := room(l); got != 7 {
		t.Errorf("room after a figure of 0 from a request sent before the release's = %d, want 7", got)
	}
	if wait := waitFor(l, 1); wait != 0 {
		t.Errorf("a read after the older figure waits %v, want 0", wait)
	}
}

// TestHeedOlderFigureAfterAShortHoldStartsNoHold: a 429 that says the
// minute refreshes in 5 s holds the room for 5 s only. A figure from a
// request sent before it, heard after those 5 s, was counted in the
// minute that has since refreshed; taken as new, it holds the room at its
// old figure for a window.
func TestHeedOlderFigureAfterAShortHoldStartsNoHold(t *testing.T) {
	l, clock := clocked(10)
	older := spendNow(t, l, 1) // answered late, counted before the refresh
	clock.Advance(time.Second)
	limited := spendNow(t, l, 1)
	l.heed(0, 5*time.Second, limited)
	clock.Advance(10 * time.Second)
	l.heed(0, Window, older)
	if got := room(l); got != 8 {
		t.Errorf("room after a figure of 0 from a request sent before the 429's = %d, want 8 (our 10 less our 2)", got)
	}
}
