package notify_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/notify"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestDigestFromTheMirror: the digest's figures come from what the mirror
// holds: yesterday's first replies (and not the day before's), the moves
// applied yesterday, the load of the team now and the customer waiting
// longest now.
func TestDigestFromTheMirror(t *testing.T) {
	w := newWorld(t)
	sendAt := w.now.Truncate(time.Minute).Add(time.Minute)
	day := time.Date(sendAt.Year(), sendAt.Month(), sendAt.Day()-1, 0, 0, 0, 0, time.UTC)
	reply := func(conv, agent int64, at time.Time) {
		t.Helper()
		_, err := w.fake.AddAgentReply(conv, helpscouttest.ThreadInput{UserID: agent, At: at, Status: helpscouttest.StatusPending})
		must(t, err)
	}
	quick := w.conversation(t, day.Add(9*time.Hour), w.ana) // 20m, all in office hours
	reply(quick, w.ana, day.Add(9*time.Hour+20*time.Minute))
	evening := w.conversation(t, day.Add(16*time.Hour), w.ben) // 2h, 1h of it in office hours
	reply(evening, w.ben, day.Add(18*time.Hour))
	before := w.conversation(t, day.Add(-12*time.Hour), w.ana) // answered the day before: not yesterday's
	reply(before, w.ana, day.Add(-11*time.Hour))
	waiting := w.conversation(t, w.now.Add(-3*time.Hour), w.ana) // the customer waiting longest now
	w.conversation(t, w.now.Add(-time.Hour), 0)
	w.sync(t)

	ctx := context.Background()
	ps, err := w.db.InsertProposals(ctx, []store.Proposal{
		{ConversationID: quick, ConversationNumber: 1, FromAgent: 0, ToAgent: w.ana, Reason: "unassigned", Explanation: "x"},
		{ConversationID: evening, ConversationNumber: 2, FromAgent: w.ana, ToAgent: w.ben, Reason: "overload", Explanation: "x"},
	})
	must(t, err)
	w.db.Now = func() time.Time { return day.Add(12 * time.Hour) }
	for _, p := range ps {
		_, err := w.db.ApproveProposal(ctx, p.ID, "sam")
		must(t, err)
		_, err = w.db.ClaimProposal(ctx, p.ID)
		must(t, err)
		_, err = w.db.MarkProposalApplied(ctx, p.ID)
		must(t, err)
	}
	w.db.Now = w.clock

	slack := testkit.NewRecorder(t)
	office, err := roster.ParseOfficeHours("Mon-Sun 09:00-17:00 UTC")
	must(t, err)
	clock := testkit.NewClock(w.now)
	n := notify.New(notify.Options{WebhookURL: slack.URL + "/services/x", OfficeHours: office, Store: w.db, Now: clock.Now,
		Digest: notify.Daily{Hour: sendAt.Hour(), Minute: sendAt.Minute(), Zone: time.UTC}, Tick: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx, team.NewReader(w.db, nil, balancer.DefaultPolicy(), w.clock)) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	clock.Set(sendAt)

	var digest struct {
		Blocks []struct {
			Text   struct{ Text string }
			Fields []struct{ Text string }
		}
	}
	testkit.WaitFor(t, 10*time.Second, "the digest", func() (bool, string) {
		bodies := slack.Bodies()
		if len(bodies) == 0 {
			return false, "no message yet"
		}
		return json.Unmarshal([]byte(bodies[0]), &digest) == nil, bodies[0]
	})
	var text strings.Builder
	for _, b := range digest.Blocks {
		text.WriteString(b.Text.Text + "\n")
		for _, f := range b.Fields {
			text.WriteString(f.Text + "\n")
		}
	}
	wantWait := balancer.FormatDuration(sendAt.Sub(w.now.Add(-3 * time.Hour)))
	for _, want := range []string{
		"*First response* (2 first replies)\np50 20m · p90 2h",
		"*Within office hours*\np50 20m · p90 1h",
		"*Reassignments*\n1", "*Hand-outs*\n1",
		"• Ana: 3 open tickets", "• Ben: 1 open ticket",
		"Chris, waiting " + wantWait + " on <https://secure.helpscout.net/conversation/" + strconv.FormatInt(waiting, 10),
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the digest lacks %q:\n%s", want, text.String())
		}
	}
}
