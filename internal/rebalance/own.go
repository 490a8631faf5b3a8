package rebalance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// Own mode (QW_ROUTING=own, design.md section 8): the inbox's routing is
// off and the daemon gives each new conversation its first owner itself,
// within seconds of its webhook, or at the next poll when no webhook came.
//
// A route is a plan like a run's, narrowed to the new conversations: it is
// made under planMu, so it sees the run's open proposals and the run sees
// its own, and it is stored as an approved proposal (the audit log) and
// applied through apply, which re-reads the conversation first and skips
// it if someone assigned it meanwhile. It differs from a run's hand-out in
// three ways: it needs no approval (it is routing, not reassignment: in
// propose mode too; off does nothing), it adds no note (Help Scout's own
// line item records who assigned it, so it costs one write), and a
// customer writing again does not make it stale (the conversation still
// needs an owner).
//
// Latency: a webhook wakes the mirror, whose inbox pass (after the poll in
// progress, if any) wakes the router. A route never waits behind a run's
// applies, which happen outside planMu, only behind a run's planning
// (milliseconds; Plan for 1,000 agents and 100,000 conversations stays
// under 100 ms) and the rate budget that every Help Scout request spends
// (at most its one-minute window). Routes coalesce: however many webhooks
// arrive during a pass, one more pass takes all their conversations.

// decidedByRouting is DecidedBy of a route: it marks the proposal as a
// first assignment of own mode everywhere it is read (apply, recovery,
// the page).
const decidedByRouting = "queuewrangler (QW_ROUTING=own)"

// routed reports whether p is own mode's first assignment of a new
// conversation.
func routed(p store.Proposal) bool { return p.DecidedBy == decidedByRouting }

// RouterOptions configures a Router. The inboxes whose routing it checks
// are the rebalancer's (Options.Mailboxes).
type RouterOptions struct {
	// CheckEvery is how often the inboxes' routing is read again: the
	// balancer's interval. Zero means 5 minutes.
	CheckEvery time.Duration
	// Ready says whether the mirror is complete enough to route from;
	// nil = always.
	Ready func() (bool, string)
}

// Router makes own mode's first assignments. Build it with NewRouter
// before the mirror starts, and run it with Run. A nil *Router (any other
// routing mode, or QW_MODE=off) does nothing: Wake and Run may be called on
// it. Its notices for the page are the rebalancer's (Rebalancer.Notices),
// never a nil *Router in an interface.
type Router struct {
	r    *Rebalancer
	opts RouterOptions
	wake chan struct{}

	// horizon separates new conversations from the backlog: only those
	// created at or after it are routed on arrival. The backlog (what
	// waited while the daemon was not running in own mode, or what nobody
	// could take on arrival) is the balancer's rule 1, with its caps and
	// the backlog setting.
	horizon time.Time

	passMu sync.Mutex // one route pass at a time
	// tried are the new conversations already routed or found with nobody
	// to take them, so that the next pass does not route them again while
	// the mirror has not caught up with the assignment.
	tried map[int64]bool
	// failed counts the routes of each conversation that ended failed (a
	// 5xx after the retries, the rate budget beyond assignTimeout): the
	// next pass tries again, up to routeAttempts in all.
	//
	// tried and failed live in memory on purpose: a restart cannot make
	// them count wrong. A conversation with a failed route was planned
	// from the mirror, so it is stored, and the new Router's horizon lies
	// after the newest stored conversation (NewRouter; the start time if
	// the mirror cannot be read then, which a stored conversation precedes
	// unless Help Scout's clock runs ahead of ours): it is backlog from
	// then on, never routed again, only handed out by the balancer's
	// runs. A restart thus ends its route retries early rather than
	// starting them over, so they stay at most routeAttempts in all. Nor
	// can a route be made twice across a restart: a route left approved
	// is applied by the next run's recovery after the same re-read (or,
	// found late, goes stale before it is routed afresh: lateRoute), one
	// left applying is settled from Help Scout without writing again
	// (recover.go). Persisting the counts would change nothing.
	failed map[int64]int
}

// routeAttempts bounds how often a new conversation's route is tried
// when it fails; after that it is left to the balancer's hand-outs, like
// one that nobody could take.
const routeAttempts = 3

// NewRouter returns own mode's router, or nil unless the rebalancer's
// routing mode is own and its mode is not off. It reads the newest conversation the
// mirror holds now, before the mirror syncs again, so that what arrived
// while the daemon was stopped counts as new and is routed; an empty
// mirror has only backlog to come, and what arrives from now on is new.
func (r *Rebalancer) NewRouter(ctx context.Context, opts RouterOptions) *Router {
	if r.opts.Routing != balancer.RoutingOwn {
		return nil
	}
	if r.opts.Mode == ModeOff {
		// Help Scout's routing should be off too, so nothing assigns new
		// conversations: say so once rather than let them pile up.
		r.opts.Logger.Warn("QW_ROUTING=own with QW_MODE=off: nobody assigns new conversations; they wait in the Unassigned folder")
		return nil
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = 5 * time.Minute
	}
	if opts.Ready == nil {
		opts.Ready = func() (bool, string) { return true, "" }
	}
	// Help Scout's times have whole seconds: a conversation created in
	// this second must not look older than the start.
	horizon := r.opts.Now().UTC().Truncate(time.Second)
	latest, err := r.db.LatestCreatedAt(ctx)
	switch {
	case err != nil:
		r.opts.Logger.Warn("own routing: cannot read the mirror; conversations created while the daemon was stopped wait for the balancer's hand-outs", "err", err)
	case !latest.IsZero():
		// Strictly after: the newest stored one is not new.
		horizon = latest.Add(time.Millisecond)
	}
	r.router = &Router{r: r, opts: opts, wake: make(chan struct{}, 1), horizon: horizon,
		tried: map[int64]bool{}, failed: map[int64]int{}}
	return r.router
}

// Wake asks Run to route new conversations now. It never blocks: the
// mirror calls it after each pass that may have stored some.
func (o *Router) Wake() {
	if o == nil {
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run routes whenever woken, and checks the inboxes' routing once the
// mirror is ready and then every CheckEvery, until ctx ends or the
// Rebalancer's StopStarting is called.
func (o *Router) Run(ctx context.Context) {
	if o == nil {
		return
	}
	tick := time.NewTicker(o.opts.CheckEvery)
	defer tick.Stop()
	checked := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.r.stopping:
			return
		case <-o.wake:
		case <-tick.C:
			checked = false
		}
		if o.r.stopStarted() {
			return
		}
		if ok, _ := o.opts.Ready(); !ok {
			continue // never route from a half-built mirror
		}
		if !checked {
			o.CheckRouting(ctx)
			checked = true
		}
		switch _, err := o.RouteOnce(ctx); {
		case errors.Is(err, errCutShort):
			o.r.opts.Logger.Info("own routing stopped before its last routes", "err", err)
		case err != nil && ctx.Err() == nil:
			o.r.sayFailure(slog.LevelError, "own routing failed", "; the next webhook or poll tries again", err)
		}
	}
}

// RouteOnce gives each new, active, unassigned conversation to the agent
// balancer.Route picks, and returns the proposals it made, as they ended
// (applied, stale when someone assigned it meanwhile, or failed). When ctx
// ends in the middle, the routes not yet tried stay approved for the next
// balancer run's recovery.
func (o *Router) RouteOnce(ctx context.Context) ([]store.Proposal, error) {
	o.passMu.Lock()
	defer o.passMu.Unlock()
	stored, err := o.plan(ctx, o.r.opts.Now().UTC())
	if err != nil {
		return nil, err
	}
	for _, p := range stored {
		o.r.routing.begin(p.ID)
		defer o.r.routing.end(p.ID)
	}
	for i, p := range stored {
		if ctx.Err() != nil {
			return stored, cutShort(ctx, len(stored)-i, len(stored))
		}
		done, err := o.r.apply(ctx, p.ID)
		if errors.Is(err, errNotTried) {
			stored[i] = done
			return stored, cutShort(ctx, len(stored)-i, len(stored))
		}
		if errors.Is(err, store.ErrConflict) {
			continue // a run's recovery claimed it first (before the pass began it) and applies it the same way
		}
		if err != nil {
			return stored, err
		}
		stored[i] = done
		o.retryIfFailed(done)
	}
	return stored, nil
}

// retryIfFailed lets the next pass route p's conversation again when p
// failed, unless it has failed routeAttempts times: then it says so once
// and leaves the conversation to the balancer. An applied or stale route
// is done.
func (o *Router) retryIfFailed(p store.Proposal) {
	if p.Status != store.ProposalFailed {
		return
	}
	o.failed[p.ConversationID]++
	if o.failed[p.ConversationID] < routeAttempts {
		delete(o.tried, p.ConversationID)
		return
	}
	o.r.opts.Logger.Warn("own routing: gave up on a new conversation; the balancer's hand-outs take it", "ticket", p.ConversationNumber,
		"conversation", p.ConversationID, "attempts", routeAttempts, "err", p.Error)
}

// plan picks the new conversations and their owners and stores the moves
// as approved proposals, under planMu.
func (o *Router) plan(ctx context.Context, now time.Time) ([]store.Proposal, error) {
	ids, stored, err := o.r.planRoutes(ctx, now, o.newConversations)
	for _, id := range ids {
		// Routed, or nobody could take it now: either way the balancer's
		// rule 1 hands it out later if it is still unassigned.
		o.tried[id] = true
	}
	return stored, err
}

// planRoutes routes the conversations pick chooses from the open ones and
// the open proposals, and stores the moves as approved routes, under
// planMu: the router's new conversations, or the recovery's late route
// (reroute). ids are those picked; stored is empty when nobody could take
// them.
func (r *Rebalancer) planRoutes(ctx context.Context, now time.Time, pick func([]store.OpenConversation, []store.Proposal) []int64) (ids []int64, stored []store.Proposal, err error) {
	r.planMu.Lock()
	defer r.planMu.Unlock()
	t, open, err := r.readTeam(ctx, now)
	if err != nil {
		return nil, nil, err
	}
	ids = pick(t.Conversations, open)
	if len(ids) == 0 {
		return nil, nil, nil
	}
	moves := balancer.Route(withOpenProposals(t.Snapshot, open), r.opts.Policy, ids...)
	proposals := r.toProposals(balancer.Result{Moves: moves}, t, open, now)
	for i := range proposals {
		proposals[i].Status = store.ProposalApproved
		proposals[i].DecidedBy = decidedByRouting
	}
	if stored, err = r.db.InsertProposals(ctx, proposals); err != nil {
		return nil, nil, err
	}
	for _, p := range stored {
		r.count(p, "proposed")
	}
	return ids, stored, nil
}

// lateRoute reports whether p is a route that, made at now, would be
// made late: left approved by a pass cut short (a stop, usually before a
// restart) and found by a run's recovery interruptedAfter or more after
// its plan. Its pick of owner was the best for the team as it was then;
// the best now may be someone else, and the receiver check spares routes
// the shift's end (shiftEndAsked), so made as planned it could hand a new
// customer to someone leaving in minutes.
func lateRoute(p store.Proposal, now time.Time) bool {
	return routed(p) && now.Sub(p.DecidedAt) >= interruptedAfter
}

// reroute routes the conversation of p, a late route (lateRoute), afresh:
// p goes stale, saying why, and the conversation is routed from the team
// as it is now and the route made at once, as the router makes its own.
// If nobody can take it now, it waits for the balancer's hand-outs, as
// any new conversation nobody could take. Its error is apply's.
func (r *Rebalancer) reroute(ctx context.Context, p store.Proposal, now time.Time) error {
	why := "a route left unmade for " + balancer.FormatDuration(now.Sub(p.DecidedAt)) + " (stopped before it was made): routed afresh"
	if _, err := r.stale(ctx, p, why); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil // claimed meanwhile: whoever claimed it ends it
		}
		return err
	}
	_, stored, err := r.planRoutes(ctx, now, func([]store.OpenConversation, []store.Proposal) []int64 { return []int64{p.ConversationID} })
	if err != nil {
		return err
	}
	for _, q := range stored {
		if _, err := r.apply(ctx, q.ID); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// newConversations returns the ids of the conversations to route: active,
// unassigned, created at or after the horizon, not tried before and with
// no open proposal. It forgets tried and failed conversations that are no
// longer unassigned, so that the sets stay as small as the Unassigned
// folder.
func (o *Router) newConversations(convs []store.OpenConversation, open []store.Proposal) []int64 {
	busy := map[int64]bool{}
	for _, p := range open {
		busy[p.ConversationID] = true
	}
	unassigned := map[int64]bool{}
	var ids []int64
	for _, c := range convs {
		if c.AssigneeID != 0 {
			continue
		}
		unassigned[c.ID] = true
		if c.Status != store.StatusActive || c.CreatedAt.Before(o.horizon) || o.tried[c.ID] || busy[c.ID] {
			continue
		}
		ids = append(ids, c.ID)
	}
	for id := range o.tried {
		if !unassigned[id] {
			delete(o.tried, id)
		}
	}
	for id := range o.failed {
		if !unassigned[id] {
			delete(o.failed, id)
		}
	}
	return ids
}

// afterHandout finishes a route once Help Scout has it: no note, a log
// line that says it is a hand-out, and the mirror brought up to date.
func (r *Rebalancer) afterHandout(ctx context.Context, p store.Proposal) {
	ctx, cancel := context.WithTimeout(ctx, afterMoveTimeout)
	defer cancel()
	log := r.opts.Logger.With("proposal", p.ID, "conversation", p.ConversationID)
	log.Info("hand-out applied (own routing)", moveAttrs(p, team.Names(ctx, r.dir))...)
	// The refresh is cut as a note is when a stop's budget is spent
	// (Halt): the next start's sync reads the ticket.
	hctx, cancelHalt := r.unlessHalted(ctx)
	defer cancelHalt()
	if r.opts.AfterApply != nil {
		if err := r.opts.AfterApply(hctx, p.ConversationID); err != nil && !isHalted(hctx) {
			r.sayFailure(slog.LevelWarn, "hand-out applied", "; the mirror catches up at the next poll", err,
				"proposal", p.ID, "conversation", p.ConversationID)
		}
	}
}

// CheckRouting reads each inbox's routing (GET /v2/mailboxes/{id}/routing).
// In own mode Help Scout's routing must be off, or both would assign: an
// inbox where it is on is logged once (again only after it was off) and
// flagged on the page until it is off. A 403 (the app's user may not manage
// routing) or another failure is not fatal: the page says it could not be
// checked.
func (o *Router) CheckRouting(ctx context.Context) {
	log := o.r.opts.Logger
	inboxes, err := o.r.steeredMailboxes(ctx) // the balanced ones: QW_MAILBOXES
	if err != nil {
		log.Warn("own routing: read mailboxes", "err", err)
	}
	for _, mb := range inboxes {
		_, now, prev, err := o.r.looks.look(ctx, o.r.hs, mb, o.r.opts.Now().UTC())
		if ctx.Err() != nil {
			return
		}
		switch {
		case now.enabled && !prev.enabled:
			log.Warn("Help Scout's routing is on in an inbox this daemon routes (QW_ROUTING=own): turn it off, or both will assign",
				"mailbox", mb.ID, "inbox", now.name)
		case now.uncheckedWhy != "" && prev.uncheckedWhy == "":
			log.Warn("own routing: cannot check that Help Scout's routing is off", "mailbox", mb.ID, "inbox", now.name,
				"why", now.uncheckedWhy, "err", err)
		case prev.enabled && now.off():
			log.Info("Help Scout's routing is now off; queuewrangler alone assigns new conversations", "mailbox", mb.ID, "inbox", now.name)
		}
	}
}

// Notices flags on the queue page (an httpapi.Notices), while own mode
// routes, each inbox whose routing is on or could not be checked: both
// would assign. In the other modes there are none.
func (r *Rebalancer) Notices(context.Context) ([]string, error) {
	if r.router == nil {
		return nil, nil
	}
	var out []string
	for _, in := range r.looks.looked() {
		switch {
		case in.enabled:
			out = append(out, fmt.Sprintf("Turn Help Scout's routing off in inbox %s, or both will assign new conversations.", inboxLabel(in.id, in.name)))
		case in.uncheckedWhy != "":
			out = append(out, fmt.Sprintf("Cannot check that Help Scout's routing is off in inbox %s: %s. If it is on, both will assign new conversations.",
				inboxLabel(in.id, in.name), in.uncheckedWhy))
		}
	}
	return out, nil
}

// inboxViews are the inboxes as the page's routing section shows them.
func (o *Router) inboxViews() []team.RoutingInbox {
	var out []team.RoutingInbox
	for _, in := range o.r.looks.looked() {
		v := team.RoutingInbox{MailboxID: in.id, Name: in.name, Enabled: in.enabled, CheckedAt: in.checkedAt,
			Note: "Help Scout's routing is off: queuewrangler alone assigns new conversations."}
		switch {
		case in.enabled:
			v.Note = "Help Scout's routing is on: turn it off, or both will assign new conversations."
		case in.uncheckedWhy != "":
			v.Note = "Cannot check Help Scout's routing: " + in.uncheckedWhy + "."
		}
		out = append(out, v)
	}
	return out
}

func inboxLabel(id int64, name string) string {
	if name = strings.TrimSpace(name); name != "" {
		return fmt.Sprintf("%q (%d)", name, id)
	}
	return fmt.Sprintf("%d", id)
}
