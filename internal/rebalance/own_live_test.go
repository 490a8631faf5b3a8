package rebalance

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// reReadHook runs hook once, at the first re-read of a conversation
// before an assignment: the moment an apply has begun.
type reReadHook struct {
	next http.RoundTripper
	done atomic.Bool
	hook func()
}

func (h *reReadHook) RoundTrip(r *http.Request) (*http.Response, error) {
	if isReRead(r) {
		if h.done.CompareAndSwap(false, true) {
			h.hook()
		}
	}
	return h.next.RoundTrip(r)
}

// TestLiveRoutePassKeepsItsRoutes: a router pass whose applies take
// longer than interruptedAfter (a 429 storm) meets a balancer run in the
// same process, with no stop and no restart: the run's recovery leaves the
// pass's routes to it, rather than take them for routes a stop left behind
// and route them afresh.
func TestLiveRoutePassKeepsItsRoutes(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 0)
	w.db.Now = func() time.Time { return w.now }
	r, err := roster.New(roster.Entry{}, []roster.Entry{{ID: w.ana}, {ID: w.ben}})
	must(t, err)
	opts := Options{Mode: ModeApply, Routing: balancer.RoutingOwn, Policy: balancer.DefaultPolicy(),
		Roster: r, Now: func() time.Time { return w.now }}
	h := &reReadHook{next: helpscouttest.Bearer{Token: w.token}}
	rb := New(w.db, w.clientWith(t, h), opts)
	h.hook = func() {
		w.now = w.now.Add(6 * time.Minute) // the first apply waited out the rate limit
		if _, err := rb.RunOnce(ctx); err != nil {
			t.Errorf("balancer run meanwhile: %v", err)
		}
	}
	router := rb.NewRouter(ctx, RouterOptions{})
	for i := range 3 {
		_, err := w.fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: w.mailbox, CustomerID: w.customer, Subject: "new", Body: "hello", At: w.now.Add(time.Duration(i) * time.Second)})
		must(t, err)
	}
	w.sync(t)
	got, err := router.RouteOnce(ctx)
	must(t, err)
	all, err := w.db.ListProposals(ctx, store.ProposalFilter{})
	must(t, err)
	if len(got) != 3 || len(all) != 3 {
		t.Fatalf("router pass returned %d proposals, the store holds %d; want the pass's 3 routes and no others", len(got), len(all))
	}
	for _, p := range got {
		if p.Status != store.ProposalApplied {
			t.Errorf("route %d of the live pass ended %s (%q), want applied by the pass", p.ID, p.Status, p.Error)
		}
	}
}
