package httpapi

import (
	"sync"
	"time"
)

// quietEvery is the longest a repeated refusal goes unsaid in the log.
const quietEvery = time.Minute

// quietLog thins a warning anyone can trigger (a webhook with a bad
// signature, or too big): each one was a line, so a flood of bad POSTs
// became a flood of log. The first is logged, then at most one line per
// quietEvery, carrying how many were refused since the line before; the
// metric counts each one. A refusal that ends a flood is logged with the
// next one after the minute, not by a timer: no goroutine to own.
type quietLog struct {
	mu      sync.Mutex
	last    time.Time // when a line was last written; zero before the first
	pending int       // refusals since then that wrote no line
}

// note records one refusal at now and says whether to write a line, and
// then how many refusals that line stands for (this one included; 1 for
// the first).
func (q *quietLog) note(now time.Time) (write bool, refused int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending++
	if !q.last.IsZero() && now.Sub(q.last) < quietEvery {
		return false, 0
	}
	refused, q.pending, q.last = q.pending, 0, now
	return true, refused
}
