package rebalance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// heard records what a Notifier was told.
type heard struct {
	mu        sync.Mutex
	proposals [][]store.Proposal
	flagged   [][]balancer.Flag
	noSenior  [][]balancer.Flag
}

func (h *heard) ProposalsWaiting(ps []store.Proposal) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.proposals = append(h.proposals, ps)
}

func (h *heard) Escalations(flagged, noSenior []balancer.Flag) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flagged = append(h.flagged, flagged)
	h.noSenior = append(h.noSenior, noSenior)
}

// TestRunTellsTheNotifierOfProposalsInProposeModeOnly: proposals wait for
// approval only in propose mode; in apply mode they are carried out at
// once and nobody needs to be told.
func TestRunTellsTheNotifierOfProposalsInProposeModeOnly(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		want int
	}{{ModePropose, 1}, {ModeApply, 0}} {
		t.Run(string(tc.mode), func(t *testing.T) {
			w := newWorld(t, 1)
			r := w.rebalancer(tc.mode, 5)
			h := &heard{}
			r.opts.Notify = h
			plan, err := r.RunOnce(context.Background())
			must(t, err)
			if len(plan.Proposals) != 1 {
				t.Fatalf("got %d proposals, want 1", len(plan.Proposals))
			}
			if len(h.proposals) != tc.want {
				t.Fatalf("the notifier heard %d batches of proposals, want %d", len(h.proposals), tc.want)
			}
			if tc.want > 0 && (len(h.proposals[0]) != 1 || h.proposals[0][0].ID != plan.Proposals[0].ID) {
				t.Errorf("the notifier heard %+v, want the stored proposal %d", h.proposals[0], plan.Proposals[0].ID)
			}
			if len(h.flagged) != 0 {
				t.Errorf("escalations %v for a world with nothing stuck", h.flagged)
			}
		})
	}
}

// TestRunTellsTheNotifierOfStuckTicketsNoSeniorCanTake: a team of STs
// (no roster) has nobody to escalate a stuck ticket to; a run that leaves
// it where it is says so.
func TestRunTellsTheNotifierOfStuckTicketsNoSeniorCanTake(t *testing.T) {
	w := newWorld(t, 0)
	c, err := w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer,
		Subject: "help", Body: "please", AssigneeID: w.ana, At: w.now.Add(-6 * time.Hour)})
	must(t, err)
	w.sync(t)
	r := w.rebalancer(ModePropose, 0) // no moves: the ticket stays with Ana
	h := &heard{}
	r.opts.Notify = h
	_, err = r.RunOnce(context.Background())
	must(t, err)
	if len(h.noSenior) != 1 || len(h.noSenior[0]) != 1 || h.noSenior[0][0].ConversationID != c.ID || h.noSenior[0][0].AgentID != w.ana {
		t.Fatalf("the notifier heard %+v, want conversation %d stuck with Ana %d", h.noSenior, c.ID, w.ana)
	}
	if len(h.proposals) != 0 {
		t.Errorf("proposals %v from a run that may move nothing", h.proposals)
	}
}

// TestStuckWithoutSenior: an ST's stuck ticket is for a person when no
// senior who could take it is available; everything a senior, a flag, a
// move, a pin or an open proposal already covers is left out.
func TestStuckWithoutSenior(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	p := balancer.DefaultPolicy()
	p.StuckAfter = 4 * time.Hour
	ana := balancer.Agent{ID: 1, Name: "Ana", Role: balancer.RoleST, Capacity: 1, Available: true}
	sst := balancer.Agent{ID: 2, Name: "Sam", Role: balancer.RoleSST, Capacity: 1, Available: true}
	stuck := func(id, mailbox int64) balancer.Conversation {
		return balancer.Conversation{ID: id, Number: 1000 + id, MailboxID: mailbox, Status: balancer.StatusActive,
			AssigneeID: ana.ID, WaitingOnUs: true, CustomerWaitingSince: now.Add(-6*time.Hour - 10*time.Minute)}
	}
	away, otherBox, hos := sst, sst, balancer.Agent{ID: 3, Name: "Hope", Role: balancer.RoleHoS, Capacity: 1, Available: true}
	away.Available = false
	otherBox.Mailboxes = []int64{99}
	fresh := stuck(1, 10)
	fresh.CustomerWaitingSince = now.Add(-time.Hour)
	pinned := stuck(1, 10)
	pinned.Pinned = true
	want := []balancer.Flag{{ConversationID: 1, Number: 1001, AgentID: ana.ID, Reason: balancer.ReasonStuck,
		WaitingFor: 6*time.Hour + 10*time.Minute, Explanation: "customer waiting 6h 10m, past the 4h stuck threshold, " +
			"with Ana; no senior on shift can take it: for the head of support to look at"}}
	hosTakes := hos
	hosTakes.Escalations = true
	for _, tc := range []struct {
		name   string
		agents []balancer.Agent
		conv   balancer.Conversation
		res    balancer.Result
		open   []store.Proposal
		want   []balancer.Flag
	}{
		{"no SST in the team", []balancer.Agent{ana}, stuck(1, 10), balancer.Result{}, nil, want},
		{"the SST is away", []balancer.Agent{ana, away}, stuck(1, 10), balancer.Result{}, nil, want},
		{"the SST cannot open the mailbox", []balancer.Agent{ana, otherBox}, stuck(1, 10), balancer.Result{}, nil, want},
		{"a head of support without escalations", []balancer.Agent{ana, hos}, stuck(1, 10), balancer.Result{}, nil, want},
		{"an SST could take it", []balancer.Agent{ana, sst}, stuck(1, 10), balancer.Result{}, nil, nil},
		{"the head of support takes escalations", []balancer.Agent{ana, hosTakes}, stuck(1, 10), balancer.Result{}, nil, nil},
		{"not stuck yet", []balancer.Agent{ana}, fresh, balancer.Result{}, nil, nil},
		{"pinned", []balancer.Agent{ana}, pinned, balancer.Result{}, nil, nil},
		{"an SST's own ticket is a flag", []balancer.Agent{ana, sst}, withOwner(stuck(1, 10), sst.ID), balancer.Result{}, nil, nil},
		{"moved by the plan", []balancer.Agent{ana}, stuck(1, 10), balancer.Result{Moves: []balancer.Move{{ConversationID: 1}}}, nil, nil},
		{"flagged by the plan", []balancer.Agent{ana}, stuck(1, 10), balancer.Result{Flags: []balancer.Flag{{ConversationID: 1}}}, nil, nil},
		{"an open proposal", []balancer.Agent{ana}, stuck(1, 10), balancer.Result{}, []store.Proposal{{ConversationID: 1}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := balancer.Snapshot{Now: now, Agents: tc.agents, Conversations: []balancer.Conversation{tc.conv}}
			got := stuckWithoutSenior(s, tc.res, tc.open, p)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("stuckWithoutSenior (-want +got):\n%s", diff)
			}
		})
	}
}

func withOwner(c balancer.Conversation, owner int64) balancer.Conversation {
	c.AssigneeID = owner
	return c
}
