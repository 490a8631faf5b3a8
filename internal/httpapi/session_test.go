package httpapi

import (
	"fmt"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	t.Run("live, flash once, expired", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		s := newSessions(time.Hour, clock.Now)
		id, created := s.create("Sam")
		got, ok := s.get(id)
		if !ok || got.csrf != created.csrf || got.who != "Sam" || got.csrf == "" || got.csrf == id {
			t.Fatalf("get = %+v, %v; want the created session with its own csrf token", got, ok)
		}
		s.setFlash(id, flash{Text: "hi"})
		if f := s.takeFlash(id); f.Text != "hi" {
			t.Errorf("first takeFlash = %+v, want hi", f)
		}
		if f := s.takeFlash(id); f.Text != "" {
			t.Errorf("second takeFlash = %+v, want none", f)
		}
		clock.Advance(time.Hour)
		if _, ok := s.get(id); ok {
			t.Error("the session outlived its TTL")
		}
	})
	t.Run("ids are unguessable and distinct", func(t *testing.T) {
		t.Parallel()
		s := newSessions(time.Hour, newPageClock().Now)
		seen := map[string]bool{}
		for range 100 {
			id, sess := s.create("")
			if len(id) < 26 || seen[id] || seen[sess.csrf] {
				t.Fatalf("weak or repeated id %q / csrf %q", id, sess.csrf)
			}
			seen[id], seen[sess.csrf] = true, true
		}
	})
	t.Run("bounded: the oldest goes first", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		s := newSessions(24*time.Hour, clock.Now)
		first, _ := s.create("first")
		for range maxSessions {
			clock.Advance(time.Second)
			s.create("")
		}
		if _, ok := s.get(first); ok {
			t.Error("the oldest session survived past the bound")
		}
		if n := len(s.m); n != maxSessions {
			t.Errorf("%d sessions, want %d", n, maxSessions)
		}
	})
}

func TestLoginLimiterIsBounded(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	l := newLoginLimiter(5, time.Minute, clock.Now)
	for i := range maxLimitedAddrs + 100 {
		l.fail(fmt.Sprintf("192.0.2.%d/%d", i%250, i))
	}
	if n := len(l.fails); n > maxLimitedAddrs {
		t.Errorf("%d addresses tracked, want at most %d", n, maxLimitedAddrs)
	}
	// The newest guesser is still counted.
	last := fmt.Sprintf("192.0.2.%d/%d", (maxLimitedAddrs+99)%250, maxLimitedAddrs+99)
	if got := len(l.fails[last]); got != 1 {
		t.Errorf("the newest address has %d failures, want 1", got)
	}
	// Old entries age out.
	clock.Advance(2 * time.Minute)
	l.fail("198.51.100.1")
	if ok, _ := l.allow("192.0.2.1/1"); !ok {
		t.Error("an address is still limited after the window")
	}
}
