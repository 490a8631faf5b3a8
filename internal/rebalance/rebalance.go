package rebalance

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// Mode says what a run may do. Its values are QW_MODE's: the configuration
// reads the variable as text and main parses it with ParseMode, because
// config imports nothing from the module and this package reads no
// configuration; this is the one declaration.
type Mode string

// Modes.
const (
	// ModeOff: nothing is planned or moved. Pending proposals still
	// expire, approvals are recorded and wait for another mode, and an
	// approved or pending move whose ticket the mirror shows changed goes
	// stale (staleInMirror).
	ModeOff     Mode = "off"
	ModePropose Mode = "propose" // proposals wait for an SST's approval
	ModeApply   Mode = "apply"   // proposals are applied at once, within the caps
)

// Modes lists every mode, from the one that does least.
func Modes() []Mode { return []Mode{ModeOff, ModePropose, ModeApply} }

// ParseMode returns the mode named s, or an error that names the modes
// there are.
func ParseMode(s string) (Mode, error) {
	names := make([]string, 0, 3)
	for _, m := range Modes() {
		if string(m) == s {
			return m, nil
		}
		names = append(names, string(m))
	}
	return "", fmt.Errorf("%q is not one of %s", s, strings.Join(names, ", "))
}

// Options configures a Rebalancer.
type Options struct {
	Mode Mode
	// Routing is QW_ROUTING: who makes first assignments. The zero value
	// is balancer.RoutingHelpScout.
	Routing balancer.RoutingMode
	// Mailboxes are the balanced inboxes (QW_MAILBOXES), whose rotations
	// steer mode keeps; empty means every mailbox of the mirror.
	Mailboxes []int64
	Policy    balancer.Policy
	Roster    *roster.Roster // nil = everyone an ST at level 2
	// ProposalTTL expires pending proposals that nobody decided on: the
	// queue has moved on since and a new plan will propose afresh.
	ProposalTTL time.Duration
	// AfterApply, when set, is called with a moved conversation's id once
	// the move and its note are written, to bring the mirror up to date
	// before the next poll.
	AfterApply func(ctx context.Context, conversationID int64) error
	Logger     *slog.Logger
	Metrics    *metrics.Instruments
	Now        func() time.Time

	// Notify, when set, hears of the proposals and stuck tickets a run
	// leaves for people (escalate.go). Without a listener leave it nil,
	// never a nil pointer: a run then skips the work of telling.
	Notify Notifier
}

// Rebalancer plans, records and applies moves.
type Rebalancer struct {
	db   *store.DB
	hs   *helpscout.Client
	team *team.Reader
	// dir is db for the reads besides the team's (names, the newest
	// conversation): the tests count them.
	dir  directory
	opts Options

	runMu sync.Mutex // one run at a time
	// planMu is held from reading the team to storing the moves, by a run
	// and by own mode's routing (own.go): one plan at a time, each seeing
	// the other's moves as open proposals. A run's applies happen after
	// it, so a new conversation's route never waits for them.
	planMu sync.Mutex

	// applying holds the ids of the proposals this process is applying
	// now, which recovery never takes for interrupted ones (recover.go),
	// however long they take on opts.Now's clock.
	applying inFlight
	// routing holds the ids of the routes a live router pass of this
	// process stored and has yet to make (Router.RouteOnce): the pass makes
	// them in turn, which in a 429 storm can outlast interruptedAfter, and
	// recovery leaves them to it rather than take them for routes a stop
	// left behind (lateRoute).
	routing inFlight
	// noting holds the ids of the applied moves whose note this process is
	// writing now, which recovery's pass over the notes still due leaves
	// alone (recoverNotes): two writers could both find it missing.
	noting inFlight
	// afterMoves tracks the notes and mirror refreshes that an approval
	// left running after its answer (Approve); Wait waits for them.
	afterMoves tasks
	// moving tracks the applies (apply, their note included) and the
	// approvals' moves (Approve) under way, which Halt waits for, with
	// afterMoves, before it cuts them.
	moving tasks
	// halted is closed by Halt when a stopping daemon's budget is spent:
	// the Help Scout requests of the moves and notes still under way, and
	// of any begun after, are cut (unlessHalted).
	halted   chan struct{}
	haltOnce sync.Once
	// stopping is closed by StopStarting when the daemon is told to stop:
	// Run and the Router's Run begin no new pass after it, while the pass
	// under way ends on its own context. restoreBy, under stopMu, is the
	// bound StopStarting gave steer's restoring of the admin's sets.
	stopping  chan struct{}
	stopOnce  sync.Once
	stopMu    sync.Mutex
	restoreBy time.Time
	// cut counts what the cut left for the next start (Halt's Cut).
	cut struct{ notes, applying, approved atomic.Int64 }
	// noteRetryStep spaces writeNote's tries: the nth waits n steps.
	// Tests shorten it.
	noteRetryStep time.Duration
	// answerWait, when set, stands for answerWithin's timer in Approve: a
	// test fires it to say the bound is reached.
	answerWait <-chan time.Time

	// claim is how apply claims a proposal: db.ClaimProposal, which a
	// test wraps to act the moment the claim is committed.
	claim func(ctx context.Context, id int64) (store.Proposal, error)

	// conversation is how staleInMirror reads a listed move's ticket from
	// the mirror: db.Conversation, which a test wraps to fail one read.
	conversation func(ctx context.Context, id int64) (store.Conversation, []store.Thread, error)
	// unreadSaid holds, by conversation, the mirror read error last logged
	// for an open move's ticket (staleInMirror), so that a read failing
	// run after run is logged once per error. Only a run uses it (runMu).
	unreadSaid map[int64]string

	steer  steering   // QW_ROUTING=steer (steer.go)
	looks  inboxLooks // the inboxes' routing as steer or own last read it (routinglook.go)
	router *Router    // QW_ROUTING=own (own.go), set by NewRouter
}

// directory is what the package reads of the mirror besides the team (a
// *store.DB).
type directory interface {
	team.Users
	LatestConversationID(ctx context.Context) (int64, error)
}

// New returns a Rebalancer.
func New(db *store.DB, hs *helpscout.Client, opts Options) *Rebalancer {
	if opts.Roster == nil {
		opts.Roster = roster.Default()
	}
	if opts.ProposalTTL <= 0 {
		opts.ProposalTTL = 2 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Routing = cmp.Or(opts.Routing, balancer.RoutingHelpScout)
	if opts.Metrics != nil { // every move series from 0, so that increase() sees each first move
		for _, reason := range balancer.Reasons() {
			opts.Metrics.StartMoves(string(reason), metrics.MoveKind(reason == balancer.ReasonUnassigned))
		}
	}
	return &Rebalancer{db: db, hs: hs, team: team.NewReader(db, opts.Roster, opts.Policy, opts.Now), dir: db, opts: opts,
		claim: db.ClaimProposal, conversation: db.Conversation, noteRetryStep: 500 * time.Millisecond,
		halted: make(chan struct{}), stopping: make(chan struct{})}
}

// Plan is the outcome of one run.
type Plan struct {
	At        time.Time
	Proposals []store.Proposal // as stored
	Flags     []balancer.Flag  // for a human: an SST's stuck ticket
	Before    balancer.Stats
	After     balancer.Stats
}

// Agents returns every agent with the balancer's current figures, without
// planning anything: the team as the page and the JSON API show it, read
// by the rebalancer's team reader so that both see one roster, policy and
// clock.
func (r *Rebalancer) Agents(ctx context.Context) ([]team.Agent, team.Figures, error) {
	return r.team.Agents(ctx)
}

// State is the scrape-time state of the metrics collector (a
// metrics.StateSource), read by the same team reader.
func (r *Rebalancer) State(ctx context.Context) (metrics.State, error) {
	return r.team.State(ctx)
}

var _ metrics.StateSource = (*Rebalancer)(nil)

// RunOnce plans from the mirror, stores the new proposals and, in apply
// mode, applies them. It first ends the pending proposals past their TTL
// and those whose ticket the mirror shows changed (staleInMirror). In off
// mode it does only that, and marks stale the approved moves whose ticket
// the mirror shows changed: nothing is planned, made or sent
// to Help Scout, but a proposal left from before the switch still ends by
// its two-hour rule rather than waiting to be approved days later against
// a queue that has moved on. When ctx ends in the middle of the applies,
// the moves not yet tried stay approved for the next run, and the error
// says how many (errCutShort).
func (r *Rebalancer) RunOnce(ctx context.Context) (Plan, error) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	now := r.opts.Now().UTC()
	if err := r.expire(ctx, now); err != nil {
		return Plan{}, err
	}
	if r.opts.Mode == ModeOff {
		return Plan{}, r.staleInMirror(ctx)
	}
	// Before the plan: a pending move gone stale stops counting as done
	// (withOpenProposals), and its ticket may be planned afresh. A ticket
	// the mirror cannot read is logged there and does not stop the run:
	// the plan and the recovery of approved moves, which own mode's
	// unfinished routes rely on, go on. A damaged file does stop it, with
	// the one error that says so.
	if err := r.staleInMirror(ctx); err != nil {
		return Plan{}, err
	}
	if err := r.recoverInterrupted(ctx, now); err != nil {
		return Plan{}, err
	}
	var latest int64
	if r.steers() {
		// Before the team: a conversation stored after this read is
		// steered for at the next check (steerAfterNewConversation).
		latest = r.latestConversation(ctx)
	}
	pl, err := r.planAndStore(ctx, now)
	if err != nil {
		return Plan{}, err
	}
	res, stored := pl.res, pl.stored
	names := viewNames(pl.view)
	for _, p := range stored {
		r.count(p, "proposed")
		if r.opts.Mode == ModePropose {
			r.opts.Logger.Info("move proposed", append([]any{"proposal", p.ID}, moveAttrs(p, names)...)...)
		}
	}
	plan := Plan{At: now, Proposals: stored, Flags: res.Flags, Before: res.Before, After: res.After}
	r.notify(stored, pl.view.Snapshot, res, pl.open)
	if r.opts.Mode == ModeApply {
		for i, p := range stored {
			if ctx.Err() != nil {
				return plan, cutShort(ctx, len(stored)-i, len(stored))
			}
			applied, err := r.apply(ctx, p.ID)
			if errors.Is(err, errNotTried) {
				plan.Proposals[i] = applied
				return plan, cutShort(ctx, len(stored)-i, len(stored))
			}
			if err != nil {
				return plan, err
			}
			plan.Proposals[i] = applied
		}
	}
	if r.steers() {
		r.steerRotations(ctx, steerSnapshot(pl.view.Snapshot, pl.planned, res, r.opts.Mode), names, latest)
	}
	return plan, nil
}

// expiredWhy is an expired proposal's Error, as the page shows it.
const expiredWhy = "expired: nobody approved it in time"

// expire marks the pending proposals older than the TTL stale and counts
// them.
func (r *Rebalancer) expire(ctx context.Context, now time.Time) error {
	expired, err := r.db.ExpirePendingProposals(ctx, now.Add(-r.opts.ProposalTTL), expiredWhy)
	if err != nil {
		return err
	}
	for class, n := range expired {
		if r.opts.Metrics != nil {
			r.opts.Metrics.Reassignments.WithLabelValues(class.Reason, "stale", metrics.MoveKind(class.Handout)).Add(float64(n))
		}
	}
	return nil
}

// runPlan is what a run planned from: the team as read, the proposals
// open before it, the snapshot as planned (those counted as done), the
// plan and its stored proposals.
type runPlan struct {
	view    team.View
	open    []store.Proposal
	planned balancer.Snapshot
	res     balancer.Result
	stored  []store.Proposal
}

// planAndStore reads the team, plans, and stores the new proposals, under
// planMu.
func (r *Rebalancer) planAndStore(ctx context.Context, now time.Time) (runPlan, error) {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	t, open, err := r.readTeam(ctx, now)
	if err != nil {
		return runPlan{}, err
	}
	pl := runPlan{view: t, open: open, planned: withOpenProposals(t.Snapshot, open)}
	pl.res = balancer.Plan(pl.planned, r.opts.Policy)
	if pl.stored, err = r.db.InsertProposals(ctx, r.toProposals(pl.res, t, open, now)); err != nil {
		return runPlan{}, err
	}
	return pl, nil
}

// readTeam reads what a plan starts from: the team, its tickets a person
// decided about lately held where they are (heldByDecisions: an SST
// refused a move of them, or someone moved them by hand in Help Scout),
// and the proposals still open, which the plan counts as done
// (withOpenProposals).
func (r *Rebalancer) readTeam(ctx context.Context, now time.Time) (team.View, []store.Proposal, error) {
	t, err := r.team.Read(ctx, now)
	if err != nil {
		return team.View{}, nil, err
	}
	since := now.Add(-r.opts.Policy.Cooldown)
	rejected, err := r.db.ListProposals(ctx, store.ProposalFilter{
		Statuses: []store.ProposalStatus{store.ProposalRejected}, DecidedSince: since})
	if err != nil {
		return team.View{}, nil, err
	}
	t.Snapshot = heldByDecisions(t.Snapshot, append(refusals(rejected), handMoves(t.Conversations, since)...))
	open, err := r.db.ListProposals(ctx, store.ProposalFilter{Statuses: openStatuses})
	if err != nil {
		return team.View{}, nil, err
	}
	return t, open, nil
}

// decision is a person's decision about where a ticket stays, made at a
// known time: an SST refusing a move of it, or someone moving it by hand.
type decision struct {
	conversationID int64
	at             time.Time
}

// refusals are the decisions of the SSTs who rejected these proposals.
func refusals(rejected []store.Proposal) []decision {
	out := make([]decision, len(rejected))
	for i, p := range rejected {
		out[i] = decision{conversationID: p.ConversationID, at: p.DecidedAt}
	}
	return out
}

// handMoves are the decisions of the people who moved a ticket to its
// current owner by hand in Help Scout, at or after since (the cooldown's
// start, as for refusals). A reassignment queuewrangler made is not one
// (store.OpenConversation.HandMovedAt), nor is a first assignment out of
// the Unassigned folder: routing, a hand-out and someone taking a ticket
// are no decision against a move.
func handMoves(convs []store.OpenConversation, since time.Time) []decision {
	var out []decision
	for _, c := range convs {
		if at := c.HandMovedAt(); !at.IsZero() && !at.Before(since) {
			out = append(out, decision{conversationID: c.ID, at: at})
		}
	}
	return out
}

// heldByDecisions plans as if each ticket a person decided about had been
// moved when they decided: the cooldown (Policy.Cooldown) then keeps the
// balancer from proposing anything for it until the cooldown has run from
// the decision. Someone who refused a move has looked at the ticket and
// decided where it stays, or will see to it by hand; asking again at every
// run, for the same move or another, would only nag them. A refused
// hand-out leaves the ticket in the Unassigned folder for them the same
// way. Someone who moved the ticket from one person to another by hand has
// decided the same, and a run that moved it straight on (the stuck rule,
// the away rule, a move that pays) would undo their decision. The hold
// lifts when the owner it is with has become unavailable (away or off
// shift) since the decision: "leave it with Ana" said while Ana was there
// is no answer for when she has gone, and the rules for an absent owner's
// customers apply again. A decision made while she was already gone, or
// with no known time for her going (UnavailableSince zero), keeps its
// hold. The snapshot's conversations are copied, not changed in place.
func heldByDecisions(s balancer.Snapshot, decided []decision) balancer.Snapshot {
	if len(decided) == 0 {
		return s
	}
	convAt := indexByID(s.Conversations, func(c balancer.Conversation) int64 { return c.ID })
	agentAt := indexByID(s.Agents, func(a balancer.Agent) int64 { return a.ID })
	s.Conversations = slices.Clone(s.Conversations)
	for _, d := range decided {
		ci, ok := convAt[d.conversationID]
		if !ok {
			continue
		}
		// The page's stuck rows say the same hold with the same rule.
		available, goneSince := true, time.Time{}
		if ai, owned := agentAt[s.Conversations[ci].AssigneeID]; owned {
			available, goneSince = s.Agents[ai].Available, s.Agents[ai].UnavailableSince
		}
		if team.DecisionHolds(d.at, s.Conversations[ci].LastMovedAt, available, goneSince) {
			s.Conversations[ci].LastMovedAt = d.at
		}
	}
	return s
}

// indexByID maps each element's id to its index in xs.
func indexByID[T any](xs []T, id func(T) int64) map[int64]int {
	at := make(map[int64]int, len(xs))
	for i, x := range xs {
		at[id(x)] = i
	}
	return at
}

// openStatuses are the proposals not yet decided or not yet carried out.
var openStatuses = []store.ProposalStatus{store.ProposalPending, store.ProposalApproved, store.ProposalApplying}

// withOpenProposals plans as if the proposals still open (waiting for an
// SST, or being applied) were done: their tickets with their targets, and
// counted in the targets' new assignments. Otherwise each run would see the
// same overload and propose further tickets to the same people, and an SST
// approving a morning's proposals would pile the work onto them. A
// proposal gone stale stops counting at the next run (a rejected one holds
// its ticket instead: heldByDecisions). The snapshot's conversations are
// copied, not changed in place.
func withOpenProposals(s balancer.Snapshot, open []store.Proposal) balancer.Snapshot {
	if len(open) == 0 {
		return s
	}
	convAt := indexByID(s.Conversations, func(c balancer.Conversation) int64 { return c.ID })
	agentAt := indexByID(s.Agents, func(a balancer.Agent) int64 { return a.ID })
	s.Conversations = slices.Clone(s.Conversations)
	s.Agents = slices.Clone(s.Agents)
	for _, p := range open {
		ci, okC := convAt[p.ConversationID]
		ai, okA := agentAt[p.ToAgent]
		if !okC || !okA {
			continue
		}
		s.Conversations[ci].AssigneeID = p.ToAgent
		s.Conversations[ci].LastMovedAt = p.CreatedAt
		s.Conversations[ci].AssignedAt = p.CreatedAt // not stuck with a target that has not had it
		s.Agents[ai].RecentAssignments++
	}
	return s
}

// toProposals turns moves into proposals, skipping conversations that
// already have an undecided or in-flight proposal: a second proposal for
// the same ticket would only confuse the person approving.
func (r *Rebalancer) toProposals(res balancer.Result, t team.View, open []store.Proposal, now time.Time) []store.Proposal {
	busy := map[int64]bool{}
	for _, p := range open {
		busy[p.ConversationID] = true
	}
	byID := make(map[int64]store.OpenConversation, len(t.Conversations))
	for _, c := range t.Conversations {
		byID[c.ID] = c
	}
	status := store.ProposalPending
	if r.opts.Mode == ModeApply {
		status = store.ProposalApproved
	}
	var out []store.Proposal
	for _, m := range res.Moves {
		if busy[m.ConversationID] {
			continue
		}
		c := byID[m.ConversationID]
		figures, _ := json.Marshal(map[string]any{"waiting_seconds": int64(m.WaitingFor.Seconds())})
		out = append(out, store.Proposal{
			CreatedAt:          now,
			ConversationID:     m.ConversationID,
			ConversationNumber: m.Number,
			MailboxID:          c.MailboxID,
			FromAgent:          m.From,
			ToAgent:            m.To,
			Reason:             string(m.Reason),
			Explanation:        m.Explanation,
			ImbalanceBefore:    res.Before.Imbalance,
			ImbalanceAfter:     res.After.Imbalance,
			JainBefore:         res.Before.Jain,
			JainAfter:          res.After.Jain,
			Figures:            figures,
			Status:             status,
			DecidedBy:          decidedBy(r.opts.Mode),
			Snapshot: store.ProposalSnapshot{
				AssigneeID:           c.AssigneeID,
				Status:               c.Status,
				CustomerWaitingSince: c.CustomerWaitingSince,
				LastCustomerAt:       c.LastCustomerAt,
			},
		})
	}
	return out
}

func decidedBy(m Mode) string {
	if m == ModeApply {
		return "queuewrangler (apply mode)"
	}
	return ""
}

// count counts a proposal's outcome, hand-outs and reassignments apart.
func (r *Rebalancer) count(p store.Proposal, outcome string) {
	if r.opts.Metrics != nil {
		r.opts.Metrics.Reassignments.WithLabelValues(p.Reason, outcome, metrics.MoveKind(p.Handout())).Inc()
	}
}

// Approve records an SST's approval and applies the move at once. When
// the caller has gone by the time the approval is stored, the move is not
// claimed: it stays approved, the next run's recovery applies it, and the
// error is the context's. In off mode the approval is recorded and the
// move waits, as the page says: someone switched the daemon off to keep
// its hands off the queue, and the SST's decision is kept rather than
// refused, for the first run once the mode is propose or apply again
// (which re-reads the ticket first, as for every move).
func (r *Rebalancer) Approve(ctx context.Context, id int64, by string) (store.Proposal, error) {
	// Expiry runs in every balancer run, but the first run after a start
	// comes one interval later (5 minutes by default): until then a
	// proposal past its TTL, planned before the stop against a queue long
	// gone, could be approved and made. Expiring here first refuses it as
	// the run would have, ErrConflict (409) with the reason.
	if err := r.expire(ctx, r.opts.Now().UTC()); err != nil {
		return store.Proposal{}, err
	}
	p, err := r.db.ApproveProposal(ctx, id, by)
	if errors.Is(err, store.ErrConflict) {
		// The proposal as it is now, so that the caller can say why it is
		// not pending (its Error: expired, or what made it stale).
		if cur, rerr := r.db.Proposal(ctx, id); rerr == nil {
			if cur.Status == store.ProposalStale && cur.Error == expiredWhy {
				err = fmt.Errorf("%w: proposal %d %s (proposals expire %s after their plan)", store.ErrConflict, id, expiredWhy, r.opts.ProposalTTL)
			}
			return cur, err
		}
	}
	if err != nil {
		return p, err
	}
	r.count(p, "approved")
	switch {
	case ctx.Err() != nil:
		return p, fmt.Errorf("proposal %d approved, not applied: %w", id, context.Cause(ctx))
	case r.opts.Mode == ModeOff:
		return p, nil
	}
	// Ended once the note below is tracked by afterMoves: Halt never finds
	// both idle between the move and its note.
	r.moving.begin()
	defer r.moving.done()
	applied, made, err := r.move(ctx, id)
	if !made {
		return applied, err
	}
	// The move is made and recorded: the answer need not wait for the note
	// and the mirror refresh, which may take up to afterMoveTimeout when
	// Help Scout is slow, longer than the HTTP server lets a request write
	// its answer (httpapi: WriteTimeout, 60 s): the client would get no
	// answer, and its retry a 409, for a move that was made. So they go
	// on in the background, which Wait (and so Run, at shutdown) waits
	// for, and the answer waits for them only up to answerWithin, so that
	// in the usual case the page it leads to shows the mirror refreshed.
	// A note the background loses (a crash) stays due in the store, and a
	// later run writes it (recoverNotes).
	done := r.startAfterMove(context.WithoutCancel(ctx), applied)
	wait := r.answerWait
	if wait == nil {
		t := time.NewTimer(answerWithin)
		defer t.Stop()
		wait = t.C
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-wait:
		r.opts.Logger.Info("move applied; its note and the mirror refresh finish after the answer",
			"proposal", applied.ID, "conversation", applied.ConversationID, "waited", answerWithin.String())
	}
	return applied, nil
}

// answerWithin bounds how long an approval's answer waits for the note and
// the mirror refresh after its move (Approve): well under the HTTP
// server's WriteTimeout (60 s), which must also hold the re-read and the
// assignment itself (assignTimeout).
const answerWithin = 5 * time.Second

// startAfterMove runs afterMove for p in the background, tracked by Wait,
// and returns a channel closed when it ends. p is marked as being noted
// before it returns, so that no recovery takes its note for a lost one.
func (r *Rebalancer) startAfterMove(ctx context.Context, p store.Proposal) <-chan struct{} {
	done := make(chan struct{})
	r.noting.begin(p.ID)
	r.afterMoves.Go(func() {
		defer close(done)
		defer r.noting.end(p.ID)
		r.afterMove(ctx, p)
	})
	return done
}

// Wait waits for the notes and mirror refreshes that approvals left
// running after their answers (Approve), each bounded by afterMoveTimeout.
// Run calls it as it returns, so that a stopping daemon lets them end;
// the daemon bounds that with Halt.
func (r *Rebalancer) Wait() { r.afterMoves.Wait() }

// Cut is what Halt cut and left for the next start, where a crash would
// have left it, and where the next start finishes it.
type Cut struct {
	// Notes of moves made, still due: the first run 5 minutes or more
	// after the move writes them (recoverNotes), unless the ticket has
	// them already.
	Notes int
	// Applying moves, whose assignment was on its way to Help Scout: the
	// first run 5 minutes or more after the claim settles them from the
	// ticket (settle).
	Applying int
	// Approved moves, cut in their re-read or before their assignment
	// was sent, nothing written: the next run makes them.
	Approved int
	// Running counts the moves and notes still under way when the grace
	// after the cut ran out (the store slow to record them).
	Running int
}

// Halt is a stopping daemon's bound on the moves, notes and mirror
// refreshes under way: it lets them end until ctx ends, then cuts their
// Help Scout requests (errHalted), waits up to grace for them to return,
// and says what was cut. After it, any move or note begun is cut at once.
// Unbounded, Wait could hold a stop for afterMoveTimeout (2 minutes), and
// an assignment for assignTimeout, well past a container's stop timeout,
// whose SIGKILL would cut them anyway at a point nobody chose.
func (r *Rebalancer) Halt(ctx context.Context, grace time.Duration) Cut {
	r.whenIdle(ctx)
	r.haltOnce.Do(func() { close(r.halted) })
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	running := 0
	if !r.whenIdle(gctx) {
		running = r.moving.running() + r.afterMoves.running()
	}
	return Cut{Notes: int(r.cut.notes.Load()), Applying: int(r.cut.applying.Load()),
		Approved: int(r.cut.approved.Load()), Running: running}
}

// whenIdle waits until no move, note or refresh is under way, or ctx ends,
// and reports whether none is. An approval's move ends once its note is
// tracked (Approve), so the two are never both idle in between.
func (r *Rebalancer) whenIdle(ctx context.Context) bool {
	for {
		if !r.moving.waitUntil(ctx) || !r.afterMoves.waitUntil(ctx) {
			return false
		}
		if r.moving.running() == 0 {
			return true
		}
	}
}

// errHalted is the cause of the work Halt cuts. It is a
// context.Canceled: to the HTTP API an approval it cuts is one whose
// request went away, whose move the next start finishes.
var errHalted = fmt.Errorf("cut: the daemon is stopping and its budget is spent: %w", context.Canceled)

// unlessHalted returns ctx, cut with errHalted once Halt cuts the work
// under way, and its cancel, to call once done.
func (r *Rebalancer) unlessHalted(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	// Cut before it is returned once Halt has been: from the goroutine
	// alone, the cut of work begun after Halt could land after a request
	// had gone out, and a move's re-read get through only for its
	// assignment to be cut.
	select {
	case <-r.halted:
		cancel(errHalted)
		return ctx, func() { cancel(nil) }
	default:
	}
	go func() {
		select {
		case <-r.halted:
			cancel(errHalted)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// StopStarting tells Run and the Router's Run, at a stopping daemon's
// signal, to begin no new pass: each returns once the pass under way
// ends, which its own context still bounds. The daemon's loops keep
// running while its HTTP server drains, which one slow request can hold
// for the whole grace; without this the balancer would go on planning
// and making moves all that time, and steer's restoring of the admin's
// sets, done as Run returns, would get only what is left of the budget.
// That restoring is bounded by restoreBy.
func (r *Rebalancer) StopStarting(restoreBy time.Time) {
	r.stopMu.Lock()
	r.restoreBy = restoreBy
	r.stopMu.Unlock()
	r.stopOnce.Do(func() { close(r.stopping) })
}

// stopStarted reports whether StopStarting was called. The loops check it
// after their select too, which picks among ready cases at random: a tick
// ready with the stop must not begin a pass.
func (r *Rebalancer) stopStarted() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}

// restoreDeadline is StopStarting's restoreBy, if it was called.
func (r *Rebalancer) restoreDeadline() (time.Time, bool) {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	return r.restoreBy, !r.restoreBy.IsZero()
}

// isHalted reports whether ctx was cut by Halt.
func isHalted(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errHalted) }

// Reject records an SST's rejection.
func (r *Rebalancer) Reject(ctx context.Context, id int64, by string) (store.Proposal, error) {
	p, err := r.db.RejectProposal(ctx, id, by)
	if err != nil {
		return p, err
	}
	r.count(p, "rejected")
	return p, nil
}

// apply carries out an approved proposal, its note and the mirror refresh
// included. Its error is for failures of the store, and errNotTried when
// ctx ended before anything was written to Help Scout: a Help Scout
// failure is recorded on the proposal.
func (r *Rebalancer) apply(ctx context.Context, id int64) (store.Proposal, error) {
	r.moving.begin()
	defer r.moving.done()
	p, made, err := r.move(ctx, id)
	if made {
		r.noting.begin(p.ID)
		defer r.noting.end(p.ID)
		r.afterMove(context.WithoutCancel(ctx), p)
	}
	return p, err
}

// move is apply up to the move recorded applied, which it reports with
// made; the note and the mirror refresh are then afterMove's.
func (r *Rebalancer) move(ctx context.Context, id int64) (_ store.Proposal, made bool, _ error) {
	// A claimed proposal must end applied, stale or failed: one left
	// applying blocks its conversation until recovery settles it
	// (toProposals skips it) and, after a move, hides the move from the
	// cooldown and the per-window cap. (One never claimed may stay
	// approved: the next run's recovery applies it, which is why the batch
	// loops stop before claiming once ctx has ended.) The caller's ctx
	// ends when an SST closes the tab or the daemon stops, so the store
	// writes do not follow it, nor does the move itself: once its PATCH is
	// sent Help Scout may make it whatever the caller hears, and a move
	// made but recorded failed has no note and no mirror refresh. The
	// re-read before it still follows ctx: cut short by ctx, the move was
	// not tried and goes back to approved (unclaim); a failure of Help
	// Scout's is recorded.
	//
	// The proposal is marked in flight before it is claimed, so that no
	// recovery ever sees this claim without the mark, however late it
	// looks on the run's clock; the mark goes on every path out.
	sctx := context.WithoutCancel(ctx)
	r.applying.begin(id)
	defer r.applying.end(id)
	p, err := r.claim(sctx, id)
	if err != nil {
		return p, false, err // the store's error names the operation and the proposal
	}
	// notMade is the outcome of a path on which nothing was moved.
	notMade := func(p store.Proposal, err error) (store.Proposal, bool, error) { return p, false, err }
	rctx, cancelRead := r.unlessHalted(ctx)
	defer cancelRead()
	fresh, _, err := r.hs.Conversations.Get(rctx, p.ConversationID, true)
	switch {
	case errors.Is(err, helpscout.ErrNotFound):
		return notMade(r.stale(sctx, p, "the conversation no longer exists"))
	case err != nil && rctx.Err() != nil:
		if isHalted(rctx) {
			r.cut.approved.Add(1)
		}
		return notMade(r.unclaim(sctx, p, "re-read before apply cut short", context.Cause(rctx)))
	case err != nil:
		return notMade(r.fail(sctx, p, fmt.Sprintf("re-read before apply: %v", err)))
	}
	now := r.opts.Now()
	if why := r.staleReason(sctx, p, ticketFromHelpScout(*fresh), now); why != "" {
		return notMade(r.stale(sctx, p, why))
	}
	if p.ToAgent != 0 {
		why, err := r.receiverReason(sctx, p, fresh.MailboxID, now)
		if err != nil {
			return notMade(r.fail(sctx, p, fmt.Sprintf("read the receiver before apply: %v", err)))
		}
		if why != "" {
			return notMade(r.stale(sctx, p, why))
		}
	}
	switch halted, sent, err := r.assign(sctx, p); {
	case halted && !sent:
		// Cut before any of its PATCH was written: nothing reached Help
		// Scout, so it goes back to approved for the next run, as one cut
		// in its re-read does. Left applying, the next start would settle
		// it failed from the ticket, and the SST's approval would be lost.
		r.cut.approved.Add(1)
		return notMade(r.unclaim(sctx, p, "assignment cut before it was sent", errHalted))
	case halted:
		// Cut by a stop whose budget is spent: the PATCH may have reached
		// Help Scout or not. Recorded failed, a move made would stand
		// without its note, as a failure; left applying, the first run 5
		// minutes or more after the next start settles it from the ticket
		// itself (settle), note included, and never writes it twice.
		r.cut.applying.Add(1)
		r.opts.Logger.Info("move cut by the stop: left applying, for the next start to settle from Help Scout",
			"proposal", p.ID, "conversation", p.ConversationID)
		return notMade(p, fmt.Errorf("proposal %d left applying: %w", p.ID, errHalted))
	case err != nil && mayHaveAssigned(err):
		return notMade(r.failMaybeMade(sctx, p, fmt.Sprintf("assign: %v", err)))
	case err != nil:
		return notMade(r.fail(sctx, p, fmt.Sprintf("assign: %v", err)))
	}
	applied, err := r.markApplied(sctx, p)
	if err != nil {
		return applied, false, err
	}
	r.count(p, "applied")
	return applied, true, nil
}

// assign writes p's assignment to Help Scout within assignTimeout, unless
// Halt cuts it, which halted says; sent says whether any request of it
// was written to Help Scout (its headers at least), so that one cut
// before is known to have changed nothing. The client's own requests, a
// token's say, count too: sent errs on the side of a move maybe made.
func (r *Rebalancer) assign(ctx context.Context, p store.Proposal) (halted, sent bool, _ error) {
	hctx, cancelHalt := r.unlessHalted(ctx)
	defer cancelHalt()
	actx, cancel := context.WithTimeout(hctx, assignTimeout)
	defer cancel()
	var wrote atomic.Bool
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{WroteHeaders: func() { wrote.Store(true) }})
	_, err := r.hs.Conversations.Assign(actx, p.ConversationID, p.ToAgent)
	return err != nil && isHalted(actx), wrote.Load(), err
}

// markApplied records p's move applied, with its note due unless it is own
// mode's first assignment, which carries none (own.go).
func (r *Rebalancer) markApplied(ctx context.Context, p store.Proposal) (store.Proposal, error) {
	if routed(p) {
		return r.db.MarkProposalAppliedWithoutNote(ctx, p.ID)
	}
	return r.db.MarkProposalApplied(ctx, p.ID)
}

// afterMove finishes a move made and recorded applied: its note, the log
// line and the mirror refresh. ctx is not the caller's: they finish even
// if the caller has gone, within a bound of their own.
func (r *Rebalancer) afterMove(ctx context.Context, p store.Proposal) {
	if routed(p) {
		r.afterHandout(ctx, p) // no note: own.go
		return
	}
	log := r.opts.Logger.With("proposal", p.ID, "conversation", p.ConversationID)
	bounded, cancel := context.WithTimeout(ctx, afterMoveTimeout)
	defer cancel()
	// Help Scout's part is cut when a stop's budget is spent (Halt); the
	// store's is not, so that what happened is recorded and said.
	after, cancelHalt := r.unlessHalted(bounded)
	defer cancelHalt()
	// The note comes after the record: the move has happened either way,
	// and a note that fails must not make the move look undone. It stays
	// due in the store, and a later run writes it (recoverNotes).
	switch err := r.writeNote(after, p, r.opts.Now()); {
	case err != nil && isHalted(after):
		r.cut.notes.Add(1)
		log.Info("move applied; its note is left for the next start, the stop's budget spent")
	case err != nil:
		log.Warn("move applied but its note failed; a later run tries it again", "err", err)
	default:
		r.noteWritten(ctx, p)
	}
	log.Info("move applied", moveAttrs(p, team.Names(bounded, r.dir))...)
	if isHalted(after) {
		return // the next start's sync reads the ticket: Refresh would only fail now
	}
	if r.opts.AfterApply != nil {
		if err := r.opts.AfterApply(after, p.ConversationID); err != nil && !isHalted(after) {
			// A damaged file is said once for every loop (sayFailure).
			r.sayFailure(slog.LevelWarn, "move applied", "; the mirror catches up at the next poll", err,
				"proposal", p.ID, "conversation", p.ConversationID)
		}
	}
}

// viewNames names the people of a team as read, as team.Names does from
// the store: a run has just read them.
func viewNames(v team.View) func(int64) string {
	byID := make(map[int64]string, len(v.Agents))
	for _, a := range v.Agents {
		byID[a.ID] = a.Name
	}
	return func(id int64) string {
		if name, ok := byID[id]; ok {
			return name
		}
		return "user " + strconv.FormatInt(id, 10)
	}
}

// moveAttrs are a move's log attributes as a person reads them: the
// ticket's number, the names, the reason and its sentence.
func moveAttrs(p store.Proposal, names func(int64) string) []any {
	from := "(unassigned)"
	if p.FromAgent != 0 {
		from = names(p.FromAgent)
	}
	to := "(nobody)"
	if p.ToAgent != 0 {
		to = names(p.ToAgent)
	}
	return []any{"ticket", p.ConversationNumber, "from", from, "to", to, "reason", p.Reason, "why", p.Explanation}
}

// afterMoveTimeout bounds the note and the mirror refresh that follow a
// move, which no longer follow the caller's context.
const afterMoveTimeout = 2 * time.Minute

// assignTimeout bounds the move itself, which no longer follows the
// caller's context either: it may wait for the rate budget, and a
// stopping daemon waits for it.
const assignTimeout = 30 * time.Second

// stale records p's move stale, with why, if p is still in the status it
// was read in (p.Status); otherwise it gives the store's ErrConflict, and
// logs and counts nothing.
func (r *Rebalancer) stale(ctx context.Context, p store.Proposal, why string) (store.Proposal, error) {
	out, err := r.db.MarkProposalStale(ctx, p.ID, p.Status, why)
	if err != nil {
		return out, err
	}
	r.count(p, "stale")
	r.opts.Logger.Info("move skipped: stale", "proposal", p.ID, "conversation", p.ConversationID, "why", why)
	return out, nil
}

// errNotTried is apply's error when its context ended during the re-read,
// before any write to Help Scout: the proposal is approved again.
var errNotTried = errors.New("not tried")

// unclaim returns a claimed proposal whose re-read (or assignment, before
// it was sent: stage says which) was cut short by its caller's context
// (cause) to approved, for the next run's recovery. The write to Help
// Scout never began, so failed, which is final, would record a move that
// was never tried.
func (r *Rebalancer) unclaim(ctx context.Context, p store.Proposal, stage string, cause error) (store.Proposal, error) {
	why := fmt.Sprintf("%s (%v); left approved for the next run", stage, cause)
	out, err := r.db.UnclaimProposal(ctx, p.ID, why)
	if err != nil {
		return out, err
	}
	r.opts.Logger.Info("move not tried: stopped before it", "proposal", p.ID, "conversation", p.ConversationID, "why", why)
	return out, fmt.Errorf("proposal %d %w: %w", p.ID, errNotTried, cause)
}

// fail records p failed, its move not made: nothing was written to Help
// Scout, Help Scout refused the write, or the ticket shows it not made.
func (r *Rebalancer) fail(ctx context.Context, p store.Proposal, why string) (store.Proposal, error) {
	return r.recordFailed(ctx, p, why, r.db.MarkProposalFailed)
}

// failMaybeMade records p failed when its assignment was sent and Help
// Scout may have made it (mayHaveAssigned): the mirror then takes the
// reassignment it sees for ours, not a person's (store,
// MarkProposalFailedMaybeMade).
func (r *Rebalancer) failMaybeMade(ctx context.Context, p store.Proposal, why string) (store.Proposal, error) {
	return r.recordFailed(ctx, p, why, r.db.MarkProposalFailedMaybeMade)
}

// mayHaveAssigned reports whether an assignment that failed with err may
// have been made all the same: no answer came (a timeout, a transport
// error), or one that says nothing of the write: a 5xx, or a 408, 409 or
// 429, which the retry layer answers by sending the PATCH again, so that
// an earlier try may have landed. Any other 4xx, the 401 included, is
// Help Scout refusing the request: not made.
func mayHaveAssigned(err error) bool {
	var auth *helpscout.AuthError
	if errors.As(err, &auth) {
		return false
	}
	var e *helpscout.ErrorResponse
	if !errors.As(err, &e) || e.StatusCode < 400 || e.StatusCode >= 500 {
		return true
	}
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return false
}

func (r *Rebalancer) recordFailed(ctx context.Context, p store.Proposal, why string,
	mark func(context.Context, int64, string) (store.Proposal, error)) (store.Proposal, error) {
	out, err := mark(ctx, p.ID, why)
	if err != nil {
		return out, err
	}
	r.count(p, "failed")
	r.opts.Logger.Warn("move failed", "proposal", p.ID, "conversation", p.ConversationID, "why", why)
	return out, nil
}

// staleReason says why p's move, made at now, is wrong for its ticket as
// it is now (t), or "": changedReason's changes since the plan, or an
// agent working the ticket within the last RecentActivity.
func (r *Rebalancer) staleReason(ctx context.Context, p store.Proposal, t ticketNow, now time.Time) string {
	if why := r.changedReason(ctx, p, t); why != "" {
		return why
	}
	return workedRecently(t, r.opts.Policy, now)
}

// changedReason says what changed since p's plan that makes its move
// wrong whenever it is made, or "": the ticket was merged into another,
// has left the balanced inboxes, or changedSince finds it changed.
func (r *Rebalancer) changedReason(ctx context.Context, p store.Proposal, t ticketNow) string {
	if t.id != p.ConversationID {
		return fmt.Sprintf("the conversation was merged into %d", t.id)
	}
	if len(r.opts.Mailboxes) > 0 && !slices.Contains(r.opts.Mailboxes, t.mailboxID) {
		// Moved to another inbox, or QW_MAILBOXES dropped its inbox since
		// the proposal: not this daemon's to move any more.
		return fmt.Sprintf("the conversation is in mailbox %d, which QW_MAILBOXES leaves out", t.mailboxID)
	}
	why := changedSince(p.Snapshot, t, routed(p))
	if why == reasonAssigneeChanged {
		// Named, as the page names everyone: an SST reading "now 1234"
		// has to look the id up.
		now := "unassigned"
		if t.assigneeID != 0 {
			now = team.Names(ctx, r.dir)(t.assigneeID)
		}
		why += " (now " + now + ")"
	}
	return why
}

// reasonAssigneeChanged is changedSince's reason when someone else took
// the ticket, or it was unassigned; staleReason says who holds it now.
const reasonAssigneeChanged = "the assignee changed"

// changedSince says what changed between the plan and now that makes the
// move wrong, or "". Besides the assignee, the status and the customer
// writing again, the pin is checked again on the fresh read: a proposal
// may wait hours for approval, and the mirror may lag behind Help Scout,
// so the owner may have pinned the ticket since the plan. A new
// conversation routed on arrival (handout) still needs an owner when its
// customer writes again, so that does not count for it.
func changedSince(s store.ProposalSnapshot, t ticketNow, handout bool) string {
	switch {
	case t.assigneeID != s.AssigneeID:
		return reasonAssigneeChanged
	case t.status != s.Status:
		return fmt.Sprintf("the status changed to %s", t.status)
	}
	for _, tag := range t.tags {
		if strings.EqualFold(tag, store.PinTag) {
			return "the ticket was pinned (" + store.PinTag + ")"
		}
	}
	if !handout && !t.lastCustomerAt.IsZero() && t.lastCustomerAt.After(s.LastCustomerAt) {
		return "the customer wrote again"
	}
	return ""
}

// workedRecently says that an agent replied to the ticket or noted it
// within p.RecentActivity before now, or "": the balancer's never-move
// rule, checked again on the fresh read because the owner may have
// answered or noted the ticket since the plan, and the move would take it
// from someone working it. It is a rule about the moment of the move, not
// a change since the plan: a note an hour old stops a move made now but
// not the same move made two hours later, so it is only checked where the
// move is about to be made (see staleInMirror).
func workedRecently(t ticketNow, p balancer.Policy, now time.Time) string {
	if agent := t.lastAgentWorkAt; !agent.IsZero() && now.Sub(agent) < p.RecentActivity {
		return "an agent replied or added a note " + agoText(now.Sub(agent))
	}
	return ""
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// agoText says how long ago d was, for a stale reason.
func agoText(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	}
	return fmt.Sprintf("%d h ago", int(d.Hours()))
}

// noteText is the private note left on a moved ticket, in plain words,
// written at now.
func (r *Rebalancer) noteText(ctx context.Context, p store.Proposal, now time.Time) string {
	names := team.Names(ctx, r.dir)
	prefix, from := handoutNotePrefix, "the unassigned queue"
	if !p.Handout() {
		prefix, from = notePrefix, names(p.FromAgent)
	}
	text := fmt.Sprintf("%s from %s to %s (%s): %s", prefix, from, names(p.ToAgent), p.Reason, p.Explanation)
	// The explanation's waits and loads are the plan's: an approval hours
	// later, or a note a later run writes for a move made hours before
	// (recoverNotes), must not present them as today's.
	lateApproval := !p.DecidedAt.IsZero() && p.DecidedAt.Sub(p.CreatedAt) >= staleFiguresAfter
	lateNote := !p.AppliedAt.IsZero() && now.Sub(p.AppliedAt) >= staleFiguresAfter
	if lateApproval || lateNote {
		text += fmt.Sprintf(" (figures from the proposal, %s UTC", p.CreatedAt.UTC().Format("Mon 15:04"))
		if lateApproval {
			text += fmt.Sprintf("; approved %s UTC", p.DecidedAt.UTC().Format("Mon 15:04"))
		}
		if lateNote {
			text += fmt.Sprintf("; moved %s UTC", p.AppliedAt.UTC().Format("Mon 15:04"))
		}
		text += ")"
	}
	return text
}

// staleFiguresAfter is how long after its proposal a move's note says when
// its figures were taken.
const staleFiguresAfter = 5 * time.Minute

// Run plans every interval until ctx ends or StopStarting is called. Errors are logged; the next
// tick tries again. It returns once the notes and mirror refreshes that
// approvals left running have ended (Wait): a stopping daemon waits for
// them rather than leave them to recovery.
func (r *Rebalancer) Run(ctx context.Context, every time.Duration, ready func() (bool, string)) {
	defer r.Wait()
	tick := time.NewTicker(every)
	defer tick.Stop()
	newConversations, stopSteering := r.steerWatch(ctx)
	defer stopSteering()
	for {
		fresh := false
		select {
		case <-ctx.Done():
			return
		case <-r.stopping:
			return
		case <-newConversations:
			fresh = true
		case <-tick.C:
		}
		if r.stopStarted() {
			return
		}
		if fresh {
			if ok, _ := ready(); ok {
				r.steerAfterNewConversation(ctx)
			}
			continue
		}
		if ok, _ := ready(); !ok {
			continue // never plan from a half-built mirror
		}
		plan, err := r.RunOnce(ctx)
		switch {
		case errors.Is(err, errCutShort):
			r.opts.Logger.Info("balancer run stopped before its last moves", "err", err)
			continue
		case err != nil:
			if ctx.Err() == nil {
				r.sayRunFailure(err)
			}
			continue
		}
		if r.opts.Mode == ModeOff {
			continue // it only ended proposals, each said once if at all: nothing to say at every tick
		}
		r.opts.Logger.Info("balancer run", runAttrs(plan)...)
	}
}

// runAttrs are the "balancer run" line's counts, and its imbalance only
// where it is defined: with nobody in the split (the whole front line off
// shift, away or excluded) the balancer's 1.0 would read as a perfectly
// fair team, which /metrics and the page do not show either.
func runAttrs(plan Plan) []any {
	attrs := []any{"proposals", len(plan.Proposals), "flags", len(plan.Flags)}
	if slices.ContainsFunc(plan.Before.Agents, func(a balancer.AgentStats) bool { return a.FairShare > 0 }) {
		attrs = append(attrs, "imbalance_before", plan.Before.Imbalance, "imbalance_after", plan.After.Imbalance)
	}
	return attrs
}

// sayRunFailure logs a failed run at ERROR, except a damaged database
// file: every run fails on it until an operator acts (under QW_MODE=off
// at the read of an approved move's conversation), and the first of the
// loops and requests to meet it says it, with the remedy, for all of them
// (store.DB.SayFailure).
func (r *Rebalancer) sayRunFailure(err error) {
	r.sayFailure(slog.LevelError, "balancer run failed", "", err)
}

// errCutShort is what RunOnce and RouteOnce return when their context
// ends in the middle of a batch of moves.
var errCutShort = errors.New("stopped in the middle of a batch")

// cutShort says that a batch stopped with left of its total moves not yet
// tried. They stay approved, never claimed (a claim after ctx has ended
// would only be given back when its re-read failed, see unclaim): an
// approved proposal is applied by the next run's recovery, which re-reads
// the conversation first.
func cutShort(ctx context.Context, left, total int) error {
	return fmt.Errorf("%w: %d of %d moves left approved for the next run: %w", errCutShort, left, total, context.Cause(ctx))
}

// DryRun plans from the mirror without storing or applying anything: what
// `queuewrangler plan` prints.
func (r *Rebalancer) DryRun(ctx context.Context) (balancer.Result, []team.Agent, error) {
	t, open, err := r.readTeam(ctx, r.opts.Now().UTC())
	if err != nil {
		return balancer.Result{}, nil, err
	}
	res := balancer.Plan(withOpenProposals(t.Snapshot, open), r.opts.Policy)
	agents, _ := t.Measure(r.opts.Policy)
	return res, agents, nil
}

// PlanNow is RunOnce for the JSON API's plan endpoint, which answers with
// the proposals the run stored.
func (r *Rebalancer) PlanNow(ctx context.Context) ([]store.Proposal, error) {
	plan, err := r.RunOnce(ctx)
	return plan.Proposals, err
}
