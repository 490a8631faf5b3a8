package rebalance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
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
	w.now = w.now.Add(5 * time.Hour) // Ana has been on shift for longer than the stuck threshold
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

// TestRunTellsTheNotifierWhenTheOnlySeniorIsAtTheirCap: Ben, the only
// SST, is available and can open the inbox, but holds his cap of open
// tickets; Ana's stuck customer has nobody to go to, and the notifier
// hears so. With room for one more, Ben takes it and nobody is told.
func TestRunTellsTheNotifierWhenTheOnlySeniorIsAtTheirCap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxOpen int
		want    bool
	}{{"at the cap", 1, true}, {"below the cap", 2, false}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 0)
			w.now = w.now.Add(5 * time.Hour) // on shift for longer than the stuck threshold
			stuck, err := w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer,
				Subject: "help", Body: "please", AssigneeID: w.ana, At: w.now.Add(-6 * time.Hour)})
			must(t, err)
			_, err = w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer,
				Subject: "thanks", Body: "bye", AssigneeID: w.ben, At: w.now.Add(-time.Hour), Status: helpscouttest.StatusPending})
			must(t, err)
			w.sync(t)
			sst, maxOpen := roster.RoleSST, tc.maxOpen
			ros, err := roster.New(roster.Entry{}, []roster.Entry{{ID: w.ben, Role: sst, MaxOpen: &maxOpen}})
			must(t, err)
			r := w.rebalancer(ModePropose, 5)
			r.opts.Roster = ros
			r.team = team.NewReader(w.db, ros, r.opts.Policy, r.opts.Now)
			h := &heard{}
			r.opts.Notify = h
			plan, err := r.RunOnce(context.Background())
			must(t, err)
			told := len(h.noSenior) == 1 && len(h.noSenior[0]) == 1 && h.noSenior[0][0].ConversationID == stuck.ID
			if told != tc.want {
				t.Errorf("the notifier heard %+v (proposals %+v); want told %v of conversation %d", h.noSenior, plan.Proposals, tc.want, stuck.ID)
			}
			if moved := len(plan.Proposals) == 1 && plan.Proposals[0].ToAgent == w.ben; moved == tc.want {
				t.Errorf("proposals %+v: want Ben to take it only when below his cap", plan.Proposals)
			}
		})
	}
}

// TestUndecided: of the plan's stuck tickets that no senior can take, the
// notifier hears of those nobody is already deciding: not a pinned one,
// nor one with an open proposal.
func TestUndecided(t *testing.T) {
	flag := func(id int64) balancer.Flag {
		return balancer.Flag{ConversationID: id, Number: 1000 + id, AgentID: 1, Reason: balancer.ReasonStuck}
	}
	s := balancer.Snapshot{Conversations: []balancer.Conversation{{ID: 1}, {ID: 2, Pinned: true}, {ID: 3}}}
	for _, tc := range []struct {
		name     string
		noSenior []balancer.Flag
		open     []store.Proposal
		want     []balancer.Flag
	}{
		{"none", nil, nil, nil},
		{"plain", []balancer.Flag{flag(1), flag(3)}, nil, []balancer.Flag{flag(1), flag(3)}},
		{"pinned", []balancer.Flag{flag(1), flag(2)}, nil, []balancer.Flag{flag(1)}},
		{"an open proposal", []balancer.Flag{flag(1), flag(3)}, []store.Proposal{{ConversationID: 3}}, []balancer.Flag{flag(1)}},
		{"all decided", []balancer.Flag{flag(2), flag(3)}, []store.Proposal{{ConversationID: 3}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, undecided(tc.noSenior, s, tc.open)); diff != "" {
				t.Errorf("undecided (-want +got):\n%s", diff)
			}
		})
	}
}
