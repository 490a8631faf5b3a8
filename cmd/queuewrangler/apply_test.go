package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/outbound"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// firstWriteLimited answers the first request of each write method with a
// 429, as Help Scout does when the budget is spent: without doing it.
type firstWriteLimited struct {
	next    http.RoundTripper
	mu      sync.Mutex
	limited map[string]int
}

func (f *firstWriteLimited) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	first := r.Method != http.MethodGet && f.limited[r.Method] == 0
	if first {
		f.limited[r.Method]++
	}
	f.mu.Unlock()
	if first {
		h := http.Header{}
		h.Set("X-RateLimit-Retry-After", "0")
		h.Set("Content-Type", "application/json")
		return &http.Response{StatusCode: http.StatusTooManyRequests, Header: h, Request: r,
			Body: http.NoBody}, nil
	}
	return f.next.RoundTrip(r)
}

func TestApplyRetries429WithoutDuplicating(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	mb, _ := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "s@example.com"})
	for _, n := range []string{"Ana", "Ben"} {
		if _, err := fake.AddUser(helpscouttest.User{FirstName: n, Email: strings.ToLower(n) + "@example.com", Status: "active", Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
	}
	cust, _ := fake.AddCustomer(helpscouttest.Customer{First: "Sam", Email: "sam@example.com"})
	conv, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust.ID, Subject: "help", At: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	limiter := &firstWriteLimited{next: http.DefaultTransport, limited: map[string]int{}}
	httpClient := outbound.NewClient(outbound.Options{
		BaseURL: ts.URL, ClientID: "demo", ClientSecret: "demo-secret", PerMinute: 1000,
		Base: limiter, MaxWait: 50 * time.Millisecond,
	})
	hs, err := helpscout.NewClient(httpClient).WithBaseURL(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	db := testkit.OpenStore(t)
	if _, err := mirror.New(hs, db, mirror.Options{}).SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := rebalance.New(db, hs, rebalance.Options{Mode: rebalance.ModePropose, Policy: balancer.DefaultPolicy()})
	plan, err := r.RunOnce(context.Background())
	if err != nil || len(plan.Proposals) != 1 {
		t.Fatalf("plan: %v, %d proposals", err, len(plan.Proposals))
	}
	got, err := r.Approve(context.Background(), plan.Proposals[0].ID, "sst")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.ProposalApplied {
		t.Fatalf("status %s (%s), want applied after the 429 was retried", got.Status, got.Error)
	}
	if limiter.limited["PATCH"] != 1 || limiter.limited["POST"] != 1 {
		t.Fatalf("injected 429s: %v, want one PATCH and one POST", limiter.limited)
	}
	var assigns int
	for _, p := range fake.Patches() {
		if p.ConversationID == conv.ID && p.Path == "/assignTo" {
			assigns++
		}
	}
	if assigns != 1 {
		t.Errorf("fake saw %d assignTo patches, want exactly 1", assigns)
	}
	if n := len(fake.NotesReceived()); n != 1 {
		t.Errorf("fake saw %d notes, want exactly 1", n)
	}
}
