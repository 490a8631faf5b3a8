package mirror

import (
	"slices"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// maxRereadAttempts bounds how often one conversation's re-read is tried
// again after Help Scout failed it; after that the poll and the reconcile
// heal whatever it was for.
const maxRereadAttempts = 5

// rereadQueue holds the conversations waiting to be read again from Help
// Scout, in the order they were asked for, each at most once: however many
// events doubt one conversation, it costs one request. Refresh adds to it
// from the rebalancer's goroutine, hence the lock.
type rereadQueue struct {
	mu       sync.Mutex
	order    []int64
	attempts map[int64]int // pending ids -> failed attempts so far, parked ones included
	// parked are the re-reads that met a damaged file, out of order
	// until unpark.
	parked []int64
}

// add queues id unless it is already waiting, and reports whether it was
// new.
func (q *rereadQueue) add(id int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.attempts[id]; ok {
		return false
	}
	if q.attempts == nil {
		q.attempts = map[int64]int{}
	}
	q.attempts[id] = 0
	q.order = append(q.order, id)
	return true
}

// waiting reports whether id waits, parked or not, or is being read.
func (q *rereadQueue) waiting(id int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.attempts[id]
	return ok
}

// next takes the oldest waiting id. It stays counted as waiting (add
// ignores it) until done or retry.
func (q *rereadQueue) next() (id int64, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.order) == 0 {
		return 0, false
	}
	id = q.order[0]
	q.order = q.order[1:]
	return id, true
}

// len is how many conversations wait (not counting one taken by next),
// parked ones included.
func (q *rereadQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order) + len(q.parked)
}

// done forgets id after a successful re-read.
func (q *rereadQueue) done(id int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.attempts, id)
}

// retry puts id back at the front after a re-read that did not finish.
// failed counts it against maxRereadAttempts (a cancelled one does not);
// it reports whether id was kept.
func (q *rereadQueue) retry(id int64, failed bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if failed {
		q.attempts[id]++
	}
	if q.attempts[id] >= maxRereadAttempts {
		delete(q.attempts, id)
		return false
	}
	q.order = append([]int64{id}, q.order...)
	return true
}

// park sets ids aside, keeping their tries and their place among the
// waiting (add ignores them): re-reads that met a damaged file, which
// would only fetch the conversation again to fail on the file again.
func (q *rereadQueue) park(ids []int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.parked = append(q.parked, ids...)
}

// parkNew parks id unless it already waits, parked or not: a Refresh that
// met a damaged file, for the first inbox pass after the repair.
func (q *rereadQueue) parkNew(id int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.attempts[id]; ok {
		return
	}
	if q.attempts == nil {
		q.attempts = map[int64]int{}
	}
	q.attempts[id] = 0
	q.parked = append(q.parked, id)
}

// setAside reports whether id is parked.
func (q *rereadQueue) setAside(id int64) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Contains(q.parked, id)
}

// unpark puts the parked ids back at the end of the queue.
func (q *rereadQueue) unpark() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.order = append(q.order, q.parked...)
	q.parked = nil
}

// maxUnheldRereads bounds, per unheldWindow of the mirror's clock, the
// re-reads asked for conversations the store does not hold (a webhook
// body doubted as sent, inbox.go). Those of held conversations are
// bounded by the store itself, one pending per conversation; these are
// not: anyone holding the webhook secret can sign bodies of any id, and
// the events of a mailbox taken from the API user go on arriving, each a
// read Help Scout refuses. 60 an hour is a few percent of the client's
// budget, and a conversation past it waits for the poll (two minutes),
// as every one did before.
const (
	maxUnheldRereads = 60
	unheldWindow     = time.Hour
)

// unheldBudget counts the re-reads of conversations not held in the
// current window.
type unheldBudget struct {
	start time.Time
	spent int
	said  bool // the window's budget is spent and the log has said so
	// gone holds the mailboxes the directory stopped listing (noteGone)
	// while the daemon runs: Help Scout goes on sending their events (the
	// webhooks are the account's), and each read it refuses. Ordinary
	// traffic of one busy mailbox taken from the API user spent the 60 an
	// hour, and a real new conversation of a mirrored one waited for the
	// poll. Their events are read by no one (skip); the poll brings in
	// what Help Scout lists. A mailbox listed again leaves it.
	gone map[int64]bool
}

// mailboxesGone records the mailboxes of gone as gone, and those of
// listed as not.
func (b *unheldBudget) mailboxesGone(gone []int64, listed []store.Mailbox) {
	for _, mb := range listed {
		delete(b.gone, mb.ID)
	}
	for _, id := range gone {
		if b.gone == nil {
			b.gone = map[int64]bool{}
		}
		b.gone[id] = true
	}
}

// skip reports whether a conversation of mailbox is not to be read at
// once, its mailbox gone.
func (b *unheldBudget) skip(mailbox int64) bool { return b.gone[mailbox] }

// take spends one re-read at now, and reports whether there was one left;
// first says this is the window's first refusal, for its one log line.
func (b *unheldBudget) take(now time.Time) (ok, first bool) {
	if b.start.IsZero() || now.Sub(b.start) >= unheldWindow || now.Before(b.start) {
		b.start, b.spent, b.said = now, 0, false
	}
	if b.spent < maxUnheldRereads {
		b.spent++
		return true, false
	}
	first = !b.said
	b.said = true
	return false, first
}
