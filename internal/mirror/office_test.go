package mirror_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// TestOfficeHoursObservedBesideLive mirrors one conversation per case from
// the fake and checks both office-hours histograms against times computed
// by hand, beside the live ones observed at the same moment. Office hours
// are Mon-Fri 09:00-17:00 in New York: UTC-5 in winter, UTC-4 from
// 8 March 2026.
func TestOfficeHoursObservedBesideLive(t *testing.T) {
	office, err := roster.ParseOfficeHours("Mon-Fri 09:00-17:00 America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	tests := []struct {
		name                       string
		created, replied, closed   string  // UTC
		wantFirstResponse, wantRes float64 // office seconds
	}{{
		// Fri 18:30 -> Mon 10:15 EST: 09:00-10:15 Monday = 4500.
		// Closed Mon 11:00: 09:00-11:00 = 7200.
		name: "friday evening answered on monday", created: "2026-01-09 23:30", replied: "2026-01-12 15:15", closed: "2026-01-12 16:00",
		wantFirstResponse: 4500, wantRes: 7200,
	}, {
		// Tue 10:00 -> 11:30 EST = 5400. Closed Wed 10:00: 7h Tuesday
		// and 1h Wednesday = 28800.
		name: "reply inside hours", created: "2026-01-13 15:00", replied: "2026-01-13 16:30", closed: "2026-01-14 15:00",
		wantFirstResponse: 5400, wantRes: 28800,
	}, {
		// Fri 16:00 EST -> Mon 10:00 EDT over the weekend clocks spring
		// forward: 1h + 1h = 7200. Closed Mon 16:30 EDT: 1h + 7.5h = 30600.
		name: "daylight saving starts over the weekend", created: "2026-03-06 21:00", replied: "2026-03-09 14:00", closed: "2026-03-09 20:30",
		wantFirstResponse: 7200, wantRes: 30600,
	}, {
		// Sat 10:00 -> 14:00 EST, closed Sun 12:00: no office time at all.
		name: "created and answered outside hours", created: "2026-01-10 15:00", replied: "2026-01-10 19:00", closed: "2026-01-11 17:00",
		wantFirstResponse: 0, wantRes: 0,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			at := func(s string) time.Time {
				t.Helper()
				return must(time.Parse("2006-01-02 15:04", s))(t)
			}
			created, replied, closed := at(tt.created), at(tt.replied), at(tt.closed)
			clock := func() time.Time { return closed.Add(time.Minute) }
			db, hs, mb, ana := officeConversation(t, clock, created, replied, closed)
			reg := prometheus.NewPedanticRegistry()
			ins := metrics.NewInstruments(reg)
			ins.EnableOfficeHours(reg, 4*time.Hour)
			m := mirror.New(hs, db, mirror.Options{Metrics: ins, OfficeHours: office, Now: clock})
			must(m.SyncOnce(ctx))(t)
			// Read everything again: nothing may be observed twice.
			noErr(t, db.SetCursor(ctx, mirror.CursorConversations, time.Time{}))
			must(m.SyncOnce(ctx))(t)

			agentSeries := fmt.Sprintf("agent_id=%d mailbox_id=%d ", ana, mb)
			mailboxSeries := fmt.Sprintf("mailbox_id=%d ", mb)
			for _, c := range []struct {
				name, series string
				want         float64
			}{
				{"helpscout_first_response_seconds", agentSeries, replied.Sub(created).Seconds()},
				{"helpscout_first_response_office_seconds", agentSeries, tt.wantFirstResponse},
				{"helpscout_resolution_seconds", mailboxSeries, closed.Sub(created).Seconds()},
				{"helpscout_resolution_office_seconds", mailboxSeries, tt.wantRes},
			} {
				got := gatherHistograms(t, reg, c.name)
				if diff := cmp.Diff(got, map[string]histogram{c.series: {Count: 1, Sum: c.want}}); diff != "" {
					t.Errorf("%s (-got +want):\n%s", c.name, diff)
				}
			}
		})
	}
}

// TestOfficeHoursWithoutTheirHistograms: office hours handed to a mirror
// whose instruments lack the office-hours histograms observe the live ones
// only, instead of failing.
func TestOfficeHoursWithoutTheirHistograms(t *testing.T) {
	ctx := context.Background()
	office, err := roster.ParseOfficeHours("Mon-Fri 09:00-17:00 UTC")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 13, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return created.Add(2 * time.Hour) }
	db, hs, mb, ana := officeConversation(t, clock, created, created.Add(time.Hour), time.Time{})
	reg := prometheus.NewPedanticRegistry()
	m := mirror.New(hs, db, mirror.Options{Metrics: metrics.NewInstruments(reg), OfficeHours: office, Now: clock})
	if st := must(m.SyncOnce(ctx))(t); st.Observed != 1 {
		t.Errorf("observed %d, want the one first response", st.Observed)
	}
	want := map[string]histogram{fmt.Sprintf("agent_id=%d mailbox_id=%d ", ana, mb): {Count: 1, Sum: 3600}}
	if diff := cmp.Diff(gatherHistograms(t, reg, "helpscout_first_response_seconds"), want); diff != "" {
		t.Errorf("live first response (-got +want):\n%s", diff)
	}
}

// officeConversation puts one customer-started conversation in a fresh
// fake, assigned to and answered by Ana at replied (and closed at closed,
// unless zero), and returns a store and client for a mirror of it.
func officeConversation(t *testing.T, clock func() time.Time, created, replied, closed time.Time) (db *store.DB, hs *helpscout.Client, mailbox, agent int64) {
	t.Helper()
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{Clock: clock})
	mb := must(fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"}))(t)
	ana := must(fake.AddUser(helpscouttest.User{FirstName: "Ana", Email: "ana@example.com"}))(t).ID
	cust := must(fake.AddCustomer(helpscouttest.Customer{First: "Sam", Email: "sam@example.net"}))(t).ID
	conv := must(fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust,
		AssigneeID: ana, Subject: "help", At: created}))(t).ID
	must(fake.AddAgentReply(conv, helpscouttest.ThreadInput{UserID: ana, At: replied}))(t)
	if !closed.IsZero() {
		noErr(t, fake.SetStatus(conv, ana, helpscouttest.StatusClosed, closed))
	}
	db = testkit.OpenStore(t)
	hs = must(helpscout.NewClient(fake.Client()).WithBaseURL(ts.URL))(t)
	return db, hs, mb.ID, ana
}
