package team

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// stateNow is the clock of the metrics-state tests.
var stateNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// stateConv is a conversation of the hand-made mailbox world: the customer
// wrote at customerAt; agentAt, when set, is a later agent reply.
type stateConv struct {
	id, mailbox, assignee int64
	status                string
	customerAt, agentAt   time.Time
}

func (sc stateConv) update() store.ConversationUpdate {
	c := store.Conversation{
		ID: sc.id, Number: sc.id + 1000, MailboxID: sc.mailbox, Status: sc.status, State: store.StatePublished,
		Type: "email", Subject: "help", AssigneeID: sc.assignee, CreatedByType: store.ByCustomer,
		CreatedByID: 9000 + sc.id, CustomerID: 9000 + sc.id, CustomerEmail: "customer" + strconv.FormatInt(sc.id, 10) + "@example.com",
		CreatedAt: sc.customerAt, CustomerWaitingSince: sc.customerAt, UserUpdatedAt: sc.customerAt, ThreadCount: 1,
	}
	threads := []store.Thread{{ID: sc.id * 10, Type: store.ThreadCustomer, State: store.StatePublished, Status: sc.status,
		CreatedByType: store.ByCustomer, CreatedByID: c.CustomerID, CreatedAt: sc.customerAt}}
	if !sc.agentAt.IsZero() {
		threads = append(threads, store.Thread{ID: sc.id*10 + 1, Type: store.ThreadMessage, State: store.StatePublished,
			Status: sc.status, CreatedByType: store.ByUser, CreatedByID: sc.assignee, CreatedAt: sc.agentAt})
		c.CustomerWaitingSince, c.UserUpdatedAt, c.ThreadCount = sc.agentAt, sc.agentAt, 2
	}
	if sc.status == store.StatusClosed {
		c.ClosedAt = c.UserUpdatedAt
	}
	return store.ConversationUpdate{Conversation: c, Threads: threads, ThreadsComplete: true}
}

// stateWorld stores two mailboxes, three users and a team, and eight
// conversations whose gauges are counted by hand in TestStateFromMirror.
func stateWorld(t *testing.T) (*store.DB, []stateConv) {
	t.Helper()
	ctx := context.Background()
	db := testkit.OpenStore(t)
	h := func(hh, mm int) time.Time { return time.Date(2026, 3, 2, hh, mm, 0, 0, time.UTC) }
	mustDo(t, db.ReplaceMailboxes(ctx, []store.Mailbox{{ID: 11, Name: "Support"}, {ID: 12, Name: "Billing"}}))
	mustDo(t, db.ReplaceUsers(ctx, []store.User{
		{ID: 1, First: "Ana", Last: "Lima", Email: "ana@example.com", Timezone: "UTC", Type: store.UserTypeUser},
		{ID: 2, Email: "bob@example.com", Timezone: "UTC", Type: store.UserTypeUser}, // no name: the email must not leak
		{ID: 3, First: "Cy", Last: "Ng", Email: "cy@example.com", Timezone: "UTC", Type: store.UserTypeUser},
		{ID: 50, First: "Tier 2", Type: store.UserTypeTeam},
	}))
	mustDo(t, db.ReplaceUserStatuses(ctx, []store.UserStatus{
		{UserID: 1, Status: "active", UpdatedAt: h(8, 0)},
		{UserID: 2, Status: "active", UpdatedAt: h(8, 0)},
		{UserID: 3, Status: "away", UpdatedAt: h(9, 0)},
	}))
	convs := []stateConv{
		{id: 101, mailbox: 11, assignee: 1, status: store.StatusActive, customerAt: h(6, 0)},                     // stuck: 6 h > 4 h
		{id: 102, mailbox: 11, assignee: 1, status: store.StatusActive, customerAt: h(9, 0), agentAt: h(9, 30)},  // agent spoke last
		{id: 103, mailbox: 11, assignee: 2, status: store.StatusPending, customerAt: h(7, 0), agentAt: h(7, 10)}, // pending
		{id: 104, mailbox: 11, status: store.StatusActive, customerAt: h(11, 0)},                                 // unassigned
		{id: 105, mailbox: 12, assignee: 2, status: store.StatusClosed, customerAt: h(5, 0), agentAt: h(5, 20)},
		{id: 106, mailbox: 12, status: store.StatusSpam, customerAt: h(4, 0)},
		{id: 107, mailbox: 12, assignee: 3, status: store.StatusActive, customerAt: h(10, 0)},   // away agent's
		{id: 108, mailbox: 11, assignee: 99, status: store.StatusActive, customerAt: h(11, 30)}, // removed user's
	}
	var us []store.ConversationUpdate
	for _, c := range convs {
		us = append(us, c.update())
	}
	if _, err := db.ApplyConversations(ctx, us); err != nil {
		t.Fatal(err)
	}
	return db, convs
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func stateReader(db *store.DB, r *roster.Roster) *Reader {
	return NewReader(db, r, balancer.DefaultPolicy(), func() time.Time { return stateNow })
}

func TestStateFromMirror(t *testing.T) {
	db, _ := stateWorld(t)
	r := stateReader(db, nil)
	got, err := r.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// By hand: the work to share is Ana's 1 + 0.25, Bob's 0.25, the
	// unassigned 104 (1), and the waiting tickets of away Cy (107) and of
	// the removed user (108): 4.5 over Ana and Bob (capacity 1 each), a fair
	// load of 2.25. Utilisations 1.25 and 0.25: imbalance 1.25 / 0.75 and
	// Jain 1.5² / (2 × (1.25² + 0.25²)) = 9/13.
	const fair = 2.25
	want := metrics.State{
		Mailboxes: []metrics.MailboxState{
			{MailboxID: 11, ByStatus: map[string]int{"active": 4, "pending": 1}, Unassigned: 1, Stuck: 1, OldestWaitSeconds: 6 * 3600},
			{MailboxID: 12, ByStatus: map[string]int{"active": 1, "closed": 1, "spam": 1}, OldestWaitSeconds: 2 * 3600},
		},
		Agents: []metrics.AgentState{
			{AgentID: 1, Name: "Ana Lima", Role: "st", Level: 2, Status: "active", Open: 2, LoadRatio: 1.25 / fair, HasFairShare: true},
			{AgentID: 2, Name: "", Role: "st", Level: 2, Status: "active", Open: 0, LoadRatio: 0.25 / fair, HasFairShare: true},
			{AgentID: 3, Name: "Cy Ng", Role: "st", Level: 2, Status: "away", Open: 1},
			{AgentID: 99, Name: "a removed user", Role: "st", Status: "removed", Open: 1},
		},
		Imbalance: 1.25 / 0.75,
		Jain:      9.0 / 13,
	}
	if diff := cmp.Diff(got, want, cmpopts.EquateEmpty(), cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("State() mismatch (-got +want):\n%s", diff)
	}
	// The page shows the same figures: one snapshot, one balancer.Measure.
	agents, st, err := r.Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	samePageAndMetrics(t, agents, st, got)
}

// samePageAndMetrics checks that /metrics shows the page's load ratios and
// team figures.
func samePageAndMetrics(t *testing.T, agents []Agent, page Figures, scraped metrics.State) {
	t.Helper()
	for i, v := range agents {
		if v.LoadRatio != scraped.Agents[i].LoadRatio {
			t.Errorf("agent %d: load ratio %g on /metrics, %g on the page", v.ID, scraped.Agents[i].LoadRatio, v.LoadRatio)
		}
	}
	if page.Imbalance != scraped.Imbalance || page.Jain != scraped.Jain {
		t.Errorf("imbalance/Jain %g/%g on /metrics, %g/%g on the page", scraped.Imbalance, scraped.Jain, page.Imbalance, page.Jain)
	}
}

// TestScrapeLabelsCarryNoConversationOrEmail scrapes the collector over a
// real mirror and checks every label: names from the allow-list, values
// never a conversation id or number, never an email.
func TestScrapeLabelsCarryNoConversationOrEmail(t *testing.T) {
	db, convs := stateWorld(t)
	reg := prometheus.NewPedanticRegistry()
	metrics.NewInstruments(reg)
	reg.MustRegister(metrics.NewCollector(stateReader(db, nil), metrics.CollectorOptions{}))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	forbidden := map[string]bool{}
	for _, c := range convs {
		u := c.update().Conversation
		forbidden[strconv.FormatInt(u.ID, 10)] = true
		forbidden[strconv.FormatInt(u.Number, 10)] = true
		forbidden[u.CustomerEmail] = true
	}
	allowed := map[string]bool{"mailbox_id": true, "agent_id": true, "status": true, "name": true, "role": true,
		"level": true, "reason": true, "outcome": true, "event": true, "result": true, "method": true, "code": true, "le": true}
	series := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			series++
			for _, lp := range m.GetLabel() {
				if !allowed[lp.GetName()] {
					t.Errorf("%s: label %q is not in the allow-list", mf.GetName(), lp.GetName())
				}
				if v := lp.GetValue(); forbidden[v] || strings.Contains(v, "@") {
					t.Errorf("%s{%s=%q}: a conversation id, number or email", mf.GetName(), lp.GetName(), v)
				}
			}
		}
	}
	if series < 20 {
		t.Errorf("only %d series scraped; the world should produce every gauge", series)
	}
}

// BenchmarkScrape measures one scrape of the state collector over a mirror
// of 500 agents and 100,000 conversations (QW_BENCH_BIG=1; 10,000
// conversations otherwise, to keep `go test -bench` quick on a shared
// machine). Half the agents work from New York and are off shift at the
// benchmark's 12:00 UTC, so the collector also counts which of their
// waiting tickets are due to be handed over. The target is under 100 ms a
// scrape.
func BenchmarkScrape(b *testing.B) {
	agents, convs := 500, 10_000
	if os.Getenv("QW_BENCH_BIG") == "1" {
		convs = 100_000
	}
	ctx := context.Background()
	db := testkit.OpenStore(b)
	var users []store.User
	var statuses []store.UserStatus
	for i := range agents {
		id := int64(i + 1)
		tz := "UTC"
		if i%2 == 0 {
			tz = "America/New_York"
		}
		users = append(users, store.User{ID: id, First: "Agent", Last: strconv.Itoa(i), Email: "a" + strconv.Itoa(i) + "@example.com",
			Timezone: tz, Type: store.UserTypeUser})
		st := "active"
		if i%10 == 0 {
			st = "away"
		}
		statuses = append(statuses, store.UserStatus{UserID: id, Status: st, UpdatedAt: stateNow.Add(-3 * time.Hour)})
	}
	mustDo(b, db.ReplaceMailboxes(ctx, []store.Mailbox{{ID: 1}, {ID: 2}, {ID: 3}, {ID: 4}, {ID: 5}}))
	mustDo(b, db.ReplaceUsers(ctx, users))
	mustDo(b, db.ReplaceUserStatuses(ctx, statuses))
	const batch = 1000
	for start := 0; start < convs; start += batch {
		us := make([]store.ConversationUpdate, 0, batch)
		for i := start; i < min(start+batch, convs); i++ {
			sc := stateConv{id: int64(i + 1), mailbox: int64(1 + i%5), assignee: int64(1 + (i*7919)%agents),
				customerAt: stateNow.Add(-time.Duration(i%2000) * time.Minute)}
			switch r := i % 20; {
			case r < 8:
				sc.status = store.StatusActive
				if i%50 == 0 {
					sc.assignee = 0
				}
				if i%2 == 1 {
					sc.agentAt = sc.customerAt.Add(10 * time.Minute)
				}
			case r < 10:
				sc.status, sc.agentAt = store.StatusPending, sc.customerAt.Add(10*time.Minute)
			case r < 19:
				sc.status, sc.agentAt = store.StatusClosed, sc.customerAt.Add(10*time.Minute)
			default:
				sc.status = store.StatusSpam
			}
			us = append(us, sc.update())
		}
		if _, err := db.ApplyConversations(ctx, us); err != nil {
			b.Fatal(err)
		}
	}
	hours, err := roster.Parse([]byte(`{"defaults": {"hours": "Mon-Fri 09:00-17:00"}, "agents": []}`))
	mustDo(b, err)
	c := metrics.NewCollector(stateReader(db, hours), metrics.CollectorOptions{Timeout: time.Minute})
	ch := make(chan prometheus.Metric, 4096)
	done := make(chan int)
	go func() {
		n := 0
		for range ch {
			n++
		}
		done <- n
	}()
	scrapes := 0
	start := time.Now()
	for b.Loop() {
		c.Collect(ch)
		scrapes++
	}
	elapsed := time.Since(start)
	close(ch)
	series := <-done
	b.ReportMetric(elapsed.Seconds()*1000/float64(scrapes), "ms/scrape")
	b.ReportMetric(float64(series)/float64(scrapes), "series/scrape")
	b.ReportMetric(float64(convs), "conversations")
}

// TestStateMatchesPageOffShift: an agent who is merely off shift hands over
// only the waiting tickets that would by their return have waited longer
// than the stuck threshold (balancer.handOver), so how long each customer
// has waited changes the fair share. /metrics must still show the page's
// figures. Cy is back at 13:00, an hour from now: the customer waiting
// since 06:00 is due to be handed over (7 h by then), the one since 11:30
// is not (1.5 h), and neither is the one who wrote again at 06:00 after
// Cy's reply (an ongoing conversation waits for its agent).
func TestStateMatchesPageOffShift(t *testing.T) {
	ctx := context.Background()
	db := testkit.OpenStore(t)
	h := func(hh, mm int) time.Time { return time.Date(2026, 3, 2, hh, mm, 0, 0, time.UTC) }
	mustDo(t, db.ReplaceUsers(ctx, []store.User{
		{ID: 1, First: "Ana", Timezone: "UTC", Type: store.UserTypeUser},
		{ID: 2, First: "Bob", Timezone: "UTC", Type: store.UserTypeUser},
		{ID: 3, First: "Cy", Timezone: "UTC", Type: store.UserTypeUser},
	}))
	var us []store.ConversationUpdate
	for _, c := range []stateConv{
		{id: 201, mailbox: 11, assignee: 1, status: store.StatusActive, customerAt: h(11, 0)},
		{id: 202, mailbox: 11, assignee: 3, status: store.StatusActive, customerAt: h(6, 0)},
		{id: 203, mailbox: 11, assignee: 3, status: store.StatusActive, customerAt: h(11, 30)},
	} {
		us = append(us, c.update())
	}
	ongoing := stateConv{id: 204, mailbox: 11, assignee: 3, status: store.StatusActive, customerAt: h(5, 0), agentAt: h(5, 30)}.update()
	ongoing.Threads = append(ongoing.Threads, store.Thread{ID: 2042, Type: store.ThreadCustomer, State: store.StatePublished,
		Status: store.StatusActive, CreatedByType: store.ByCustomer, CreatedByID: ongoing.Conversation.CustomerID, CreatedAt: h(6, 0)})
	ongoing.Conversation.CustomerWaitingSince, ongoing.Conversation.UserUpdatedAt, ongoing.Conversation.ThreadCount = h(6, 0), h(6, 0), 3
	us = append(us, ongoing)
	_, err := db.ApplyConversations(ctx, us)
	mustDo(t, err)
	r, err := roster.Parse([]byte(`{"agents": [{"id": 3, "hours": "Mon-Fri 13:00-21:00", "timezone": "UTC"}]}`))
	mustDo(t, err)
	rd := stateReader(db, r)

	got, err := rd.State(ctx)
	mustDo(t, err)
	agents, st, err := rd.Agents(ctx)
	mustDo(t, err)
	// By hand: Ana's 1 plus Cy's one due ticket, over Ana and Bob: a fair
	// load of 1, so Ana is at 1 and Bob at 0.
	if want := 1.0; agents[0].FairShare != want {
		t.Errorf("page fair share %g, want %g", agents[0].FairShare, want)
	}
	samePageAndMetrics(t, agents, st, got)
}

// TestAgentsFromMirror is the one Agent as the page and the API get it from
// the hand-made world of TestStateFromMirror: roster facts, Help Scout
// status, the balancer's figures, each agent's oldest waiting customer and
// their pace.
// A team (50) is no agent; the removed user 99 is an unavailable ST.
func TestAgentsFromMirror(t *testing.T) {
	db, _ := stateWorld(t)
	h := func(hh, mm int) time.Time { return time.Date(2026, 3, 2, hh, mm, 0, 0, time.UTC) }
	agents, figures, err := stateReader(db, nil).Agents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const fair = 2.25 // as in TestStateFromMirror
	// Pace: the mirror's replies start at 05:20 (Bob's, on 105), younger
	// than the window; without roster hours everyone is taken to have
	// worked 40/168 of the 6 h 40 m since. Ana sent 1 reply, Bob 2, Cy
	// none: 3 over three capacity-1 agents' hours is the team's rate.
	hours := (6*time.Hour + 40*time.Minute).Hours() * 40 / 168
	rate := 3 / (3 * hours)
	pace := func(replies float64) float64 { return (replies + rate*16) / (hours + 16) }
	// Everyone carries the policy's shift-end margin, for Unfit; nobody
	// has roster hours, so nobody has a shift end. Cy, away since 09:00,
	// and the removed user (unavailable for ever) are past the grace
	// period: the away rule hands their customers on.
	margin := balancer.DefaultPolicy().ShiftEndMargin
	// And the never-move windows, for the stuck tickets' holds.
	cool, recent := balancer.DefaultPolicy().Cooldown, balancer.DefaultPolicy().RecentActivity
	want := []Agent{
		{ID: 1, Name: "Ana Lima", Role: "st", Level: 2, Status: "active", Available: true, Open: 2, Waiting: 1,
			Load: 1.25, Capacity: 1, Pace: pace(1), FairShare: fair, LoadRatio: 1.25 / fair, OldestWait: h(6, 0), ShiftEndMargin: margin, Cooldown: cool, RecentActivity: recent},
		{ID: 2, Name: "bob@example.com", Role: "st", Level: 2, Status: "active", Available: true, Open: 1,
			Load: 0.25, Capacity: 1, Pace: pace(2), FairShare: fair, LoadRatio: 0.25 / fair, ShiftEndMargin: margin, Cooldown: cool, RecentActivity: recent},
		{ID: 3, Name: "Cy Ng", Role: "st", Level: 2, Status: "away", Open: 1, Waiting: 1, Load: 1, Capacity: 1,
			Pace: pace(0), OldestWait: h(10, 0), Unavailable: h(9, 0), ShiftEndMargin: margin, Cooldown: cool, RecentActivity: recent, PastGrace: true},
		{ID: 99, Name: "a removed user", Role: "st", Status: "removed", Open: 1, Waiting: 1, Load: 1, Capacity: 1,
			OldestWait: h(11, 30), ShiftEndMargin: margin, Cooldown: cool, RecentActivity: recent, PastGrace: true},
	}
	if diff := cmp.Diff(want, agents, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("Agents (-want +got):\n%s", diff)
	}
	// Utilisations 1.25 and 0.25: mean 0.75, standard deviation 0.5.
	if want := (Figures{Imbalance: 1.25 / 0.75, Jain: 9.0 / 13, CV: 0.5 / 0.75}); cmp.Diff(want, figures, cmpopts.EquateApprox(0, 1e-12)) != "" {
		t.Errorf("figures %+v, want %+v", figures, want)
	}
}

// TestReadNamesTheReadOnce: the store's error already says which read
// failed; wrapped again, the log read "read snapshot: read snapshot: ...".
func TestReadNamesTheReadOnce(t *testing.T) {
	db := testkit.OpenStore(t)
	r := NewReader(db, nil, balancer.DefaultPolicy(), time.Now)
	db.Close()
	_, err := r.Read(context.Background(), time.Now())
	if err == nil {
		t.Fatal("Read on a closed store succeeded")
	}
	if n := strings.Count(err.Error(), "read snapshot"); n != 1 {
		t.Errorf("error %q names the read %d times, want once", err, n)
	}
}
