package rebalance

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// Steer and own mode both read each balanced inbox's routing (GET
// /v2/mailboxes/{id}/routing) and say in the log, once per change, and on
// the page what they found: inboxLooks is the one reader and the memory
// of what it read.

// inboxLook is what one read of an inbox's routing found.
type inboxLook struct {
	id           int64
	name         string
	checkedAt    time.Time // zero: never read
	enabled      bool      // Help Scout's routing is on
	uncheckedWhy string    // why it could not be read; "" when it was
}

// off reports whether the look found routing off (read, and disabled).
func (l inboxLook) off() bool { return !l.checkedAt.IsZero() && l.uncheckedWhy == "" && !l.enabled }

// inboxLooks remembers the last look at each inbox's routing and, in steer
// mode, the rotation as the last steer left it, for the page. Its zero
// value is ready.
type inboxLooks struct {
	mu    sync.Mutex
	last  map[int64]inboxLook
	views map[int64]team.RoutingInbox
}

// look reads mb's routing at now and remembers what it found. It returns
// the routing (nil on an error), this look, and the inbox's look before it
// (the zero inboxLook the first time), so that callers log a change once.
// A read that ctx cut short is not remembered: it says nothing of the
// inbox.
func (l *inboxLooks) look(ctx context.Context, hs *helpscout.Client, mb store.Mailbox, now time.Time) (rt *helpscout.Routing, look, prev inboxLook, err error) {
	rt, _, err = hs.Mailboxes.GetRouting(ctx, mb.ID)
	look = inboxLook{id: mb.ID, name: mb.Name, checkedAt: now}
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, look, prev, err
	case errors.Is(err, helpscout.ErrForbidden):
		look.uncheckedWhy = "the app's Help Scout user may not read routing (403)"
	case err != nil:
		look.uncheckedWhy = "reading it failed"
	default:
		look.enabled = rt.Enabled()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = map[int64]inboxLook{}
	}
	prev = l.last[mb.ID]
	l.last[mb.ID] = look
	return rt, look, prev, err
}

// looked lists the last look at each inbox, by mailbox id.
func (l *inboxLooks) looked() []inboxLook {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]inboxLook, 0, len(l.last))
	for _, id := range slices.Sorted(maps.Keys(l.last)) {
		out = append(out, l.last[id])
	}
	return out
}

// setView keeps v as its inbox's rotation for the page.
func (l *inboxLooks) setView(v team.RoutingInbox) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.views == nil {
		l.views = map[int64]team.RoutingInbox{}
	}
	l.views[v.MailboxID] = v
}

// viewed lists the rotations setView kept, by mailbox id.
func (l *inboxLooks) viewed() []team.RoutingInbox {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []team.RoutingInbox
	for _, id := range slices.Sorted(maps.Keys(l.views)) {
		out = append(out, l.views[id])
	}
	return out
}
