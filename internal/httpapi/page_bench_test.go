package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// bigWorld is a large account: agents agents and tickets open tickets, a
// tenth of them unassigned, most customers waiting, some for days; 50
// pending proposals and a full page of recent moves.
func bigWorld(now func() time.Time, agents, tickets int) *fakeWorld {
	t0 := now()
	w := &fakeWorld{now: now, customers: map[int64]string{}, figures: team.Figures{Imbalance: 1.7, Jain: 0.78}}
	for i := range agents {
		status, avail := "active", true
		switch i % 10 {
		case 7:
			status, avail = "away", false
		case 8:
			status, avail = "off-shift", false
		}
		w.agents = append(w.agents, team.Agent{ID: int64(100 + i), Name: fmt.Sprintf("Agent %03d Lastname", i), Role: []string{"st", "sst"}[i%2],
			Level: 1 + i%5, Status: status, Available: avail, Open: tickets / agents, Waiting: tickets / agents / 2,
			Load: float64(i%17) + 0.25, Capacity: 1, FairShare: 8, LoadRatio: (float64(i%17) + 0.25) / 8,
			OldestWait: t0.Add(-time.Duration(i%50) * time.Hour)})
	}
	for i := range tickets {
		id := int64(100000 + i)
		c := store.OpenConversation{ID: id, Number: id - 90000, Status: store.StatusActive,
			Subject: fmt.Sprintf("Subject line of ticket %d about an order & a refund <urgent>", i), CustomerID: int64(500000 + i),
			CreatedAt: t0.Add(-time.Duration(i%4000) * time.Minute * 3)}
		if i%10 != 0 {
			c.AssigneeID = int64(100 + i%agents)
		}
		if i%4 != 0 {
			c.LastMessageBy = store.ByCustomer
			c.CustomerWaitingSince = t0.Add(-time.Duration(i%1500) * time.Minute)
		}
		if i%9 == 0 {
			c.Status = store.StatusPending
		}
		w.convs = append(w.convs, c)
		w.customers[id] = fmt.Sprintf("Customer %d O'Brien", i)
	}
	for i := range 80 {
		st := store.ProposalPending
		if i >= 50 {
			st = []store.ProposalStatus{store.ProposalApplied, store.ProposalStale, store.ProposalFailed, store.ProposalRejected}[i%4]
		}
		w.proposals = append(w.proposals, store.Proposal{ID: int64(i + 1), CreatedAt: t0.Add(-time.Duration(i) * time.Minute),
			ConversationID: int64(100000 + i), ConversationNumber: int64(10000 + i), FromAgent: int64(100 + i%agents), ToAgent: int64(100 + (i+1)%agents),
			Reason: "overload", Explanation: "Reassigned by queuewrangler from A to B: customer waiting 6h 10m, A holds 14 open tickets against a fair share of 8",
			Status: st, UpdatedAt: t0.Add(-time.Duration(i) * time.Minute)})
	}
	for i := range 200 {
		w.frt = append(w.frt, time.Duration(i)*time.Minute)
	}
	return w
}

// BenchmarkPage renders GET / for a logged-in SST (every proposal with
// its forms) with 100 agents and 5,000 open tickets, through the whole
// handler. The target is under 200 ms a render.
func BenchmarkPage(b *testing.B) {
	for _, bc := range []struct {
		name    string
		maxRows int
	}{
		{"100agents_5000tickets", 0},
		{"100agents_5000tickets_uncapped", 5000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clock := newPageClock()
			w := bigWorld(clock.Now, 100, 5000)
			s := New(Options{Now: clock.Now})
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, Customers: w, FirstResponses: w,
				AdminToken: pageToken, StuckAfter: 4 * time.Hour, maxRows: bc.maxRows})
			cookie, _ := pageLogin(b, s)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.AddCookie(cookie)
			var bytes int
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
				bytes = rec.Body.Len()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/render")
			b.ReportMetric(float64(bytes)/1024, "KiB/page")
		})
	}
}
