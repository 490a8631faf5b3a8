package mirror_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// seamAccount is a fake with one mailbox, one agent and three
// conversations: one answered two days ago (history on any first pass),
// one answered two hours ago and closed an hour ago (recent: a fresh
// daemon observes it live), and one that waits. reply answers a
// conversation later.
type seamAccount struct {
	fake                    *helpscouttest.Server
	hs                      *helpscout.Client
	agent                   int64
	old, recent, unanswered int64
}

func newSeamAccount(t *testing.T, now time.Time) *seamAccount {
	t.Helper()
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{Clock: func() time.Time { return now }})
	mb := must(fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"}))(t)
	agent := must(fake.AddUser(helpscouttest.User{FirstName: "Ana", Email: "ana@example.com"}))(t).ID
	cust := must(fake.AddCustomer(helpscouttest.Customer{First: "Sam", Email: "sam@example.net"}))(t).ID
	a := &seamAccount{fake: fake, hs: must(helpscout.NewClient(fake.Client()).WithBaseURL(ts.URL))(t), agent: agent}
	conv := func(created time.Duration) int64 {
		return must(fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust,
			AssigneeID: agent, Subject: "help", At: now.Add(created)}))(t).ID
	}
	a.old, a.recent, a.unanswered = conv(-72*time.Hour), conv(-3*time.Hour), conv(-30*time.Minute)
	a.reply(t, a.old, now.Add(-48*time.Hour))
	a.reply(t, a.recent, now.Add(-2*time.Hour))
	noErr(t, fake.SetStatus(a.recent, agent, helpscouttest.StatusClosed, now.Add(-time.Hour)))
	return a
}

func (a *seamAccount) reply(t *testing.T, conv int64, at time.Time) {
	t.Helper()
	must(a.fake.AddAgentReply(conv, helpscouttest.ThreadInput{UserID: a.agent, At: at}))(t)
}

func ids(obs []store.Observation) []int64 {
	var out []int64
	for _, o := range obs {
		out = append(out, o.ConversationID)
	}
	slices.Sort(out)
	return out
}

func liveCounts(t *testing.T, reg *prometheus.Registry) (firstResponses, resolutions uint64) {
	t.Helper()
	for _, h := range gatherHistograms(t, reg, metrics.FirstResponseName) {
		firstResponses += h.Count
	}
	for _, h := range gatherHistograms(t, reg, metrics.ResolutionName) {
		resolutions += h.Count
	}
	return firstResponses, resolutions
}

// TestBackfillBeforeTheDaemon: only `sync` has run, and backfill writes
// everything the mirror holds (no seam). The daemon's first pass, however
// recent those answers are, then observes none of them; it observes the
// reply that came after, and a second backfill still holds the first one's
// answers and not the live one, now ending at the seam.
func TestBackfillBeforeTheDaemon(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	a := newSeamAccount(t, now)
	db := testkit.OpenStore(t)
	must(mirror.New(a.hs, db, mirror.Options{Now: func() time.Time { return now }}).SyncOnce(ctx))(t) // `sync`

	before := must(db.History(ctx, now.Add(-90*24*time.Hour)))(t)
	if !before.Seam.Since.IsZero() || !before.End.Equal(now.Add(-time.Hour+time.Millisecond)) {
		t.Errorf("history before the daemon: seam %+v, end %v; want none, just after the newest answer", before.Seam, before.End)
	}
	if got, want := ids(before.FirstResponses), []int64{a.old, a.recent}; !cmp.Equal(got, want) {
		t.Errorf("backfill's first responses = %v, want %v", got, want)
	}
	if got, want := ids(before.Resolutions), []int64{a.recent}; !cmp.Equal(got, want) {
		t.Errorf("backfill's resolutions = %v, want %v", got, want)
	}

	a.reply(t, a.unanswered, now.Add(-10*time.Minute)) // after the sync: the daemon's to observe
	reg := prometheus.NewPedanticRegistry()
	daemon := mirror.New(a.hs, db, mirror.Options{Metrics: metrics.NewInstruments(reg), Now: func() time.Time { return now }})
	st := must(daemon.SyncOnce(ctx))(t)
	if fr, res := liveCounts(t, reg); fr != 1 || res != 0 || st.Observed != 1 {
		t.Errorf("the daemon's first pass observed %d first responses and %d resolutions (%d in all); want only the reply made after the sync", fr, res, st.Observed)
	}

	after := must(db.History(ctx, now.Add(-90*24*time.Hour)))(t)
	if !after.End.Equal(now) || !after.Seam.HistoryUntil.Equal(now.Add(-time.Hour)) {
		t.Errorf("history after the daemon: end %v, seam %+v; want the end at the daemon's start (%v), history until the newest answer the sync left", after.End, after.Seam, now)
	}
	if diff := cmp.Diff(ids(after.FirstResponses), ids(before.FirstResponses)); diff != "" {
		t.Errorf("first responses in the backfill after the daemon started (-got +want):\n%s", diff)
	}
	if diff := cmp.Diff(ids(after.Resolutions), ids(before.Resolutions)); diff != "" {
		t.Errorf("resolutions in the backfill after the daemon started (-got +want):\n%s", diff)
	}
}

// TestDaemonBeforeBackfill: a fresh daemon observes the recent answers
// live and marks the old one as history; backfill then writes exactly the
// old one, and a restart of the daemon changes neither.
func TestDaemonBeforeBackfill(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	a := newSeamAccount(t, now)
	db := testkit.OpenStore(t)
	reg := prometheus.NewPedanticRegistry()
	must(mirror.New(a.hs, db, mirror.Options{Metrics: metrics.NewInstruments(reg), Now: func() time.Time { return now }}).SyncOnce(ctx))(t)
	if fr, res := liveCounts(t, reg); fr != 1 || res != 1 {
		t.Errorf("a fresh daemon observed %d first responses and %d resolutions, want the recent one's 1 and 1", fr, res)
	}

	later := now.Add(time.Hour)
	a.reply(t, a.unanswered, later.Add(-time.Minute))
	restarted := prometheus.NewPedanticRegistry()
	must(mirror.New(a.hs, db, mirror.Options{Metrics: metrics.NewInstruments(restarted), Now: func() time.Time { return later }}).SyncOnce(ctx))(t)
	if fr, res := liveCounts(t, restarted); fr != 1 || res != 0 {
		t.Errorf("after a restart the daemon observed %d first responses and %d resolutions, want the new reply only", fr, res)
	}

	h := must(db.History(ctx, now.Add(-90*24*time.Hour)))(t)
	if !h.End.Equal(now) || !h.Seam.HistoryUntil.IsZero() {
		t.Errorf("history: end %v, seam %+v; want the end at the first start (%v) and nothing held before it", h.End, h.Seam, now)
	}
	if got, want := ids(h.FirstResponses), []int64{a.old}; !cmp.Equal(got, want) {
		t.Errorf("backfill's first responses = %v, want only the old one %v", got, want)
	}
	if len(h.Resolutions) != 0 {
		t.Errorf("backfill's resolutions = %v, want none (the only one was observed live)", ids(h.Resolutions))
	}
}
