package testkit

import (
	"testing"
	"time"
)

// pollEvery is how often WaitFor asks again: often enough that a test waits
// little past the moment its condition holds, rarely enough not to load
// the daemon under test.
const pollEvery = 50 * time.Millisecond

// WaitFor asks cond until it holds and fails the test when it still does not
// after timeout, with what it waited for and cond's last reason. Tests wait
// on something they can observe (readiness, a counter, a stored row) this
// way, never with a bare sleep whose length is a guess.
func WaitFor(tb testing.TB, timeout time.Duration, what string, cond func() (ok bool, why string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %s waiting for %s: %s", timeout, what, why)
		}
		time.Sleep(pollEvery)
	}
}
