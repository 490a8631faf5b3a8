package rebalance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// State implements metrics.StateSource: the current state behind the
// scrape-time gauges, read from the mirror at the rebalancer's clock.
//
// A scrape must stay cheap at 100,000 mirrored conversations, so State
// reads the store's aggregates (counts per mailbox and per assignee, which
// SQLite computes from indexes) instead of the balancer's full snapshot of
// every open conversation, which costs about six times the CPU there
// (BenchmarkScrape). The balancer's figures depend only on how many tickets of each weight class every agent
// holds and on the unassigned queue, so the assigned tickets are handed to
// balancer.Measure as one placeholder per ticket carrying just its class:
// the load ratios, imbalance and Jain on /metrics are exactly those of the
// queue page and of Plan. The reads are separate transactions, run
// concurrently; the gauges may mix states a few milliseconds apart, which
// no panel can tell.
func (r *Rebalancer) State(ctx context.Context) (metrics.State, error) {
	now := r.opts.Now().UTC()
	// The reads are independent and the store has a pool of readers: run
	// them side by side, so a scrape costs the slowest read, not the sum.
	var (
		wg        sync.WaitGroup
		mailboxes []store.MailboxStats
		users     []store.User
		statuses  []store.UserStatus
		loads     []store.AgentLoad
		queue     []store.OpenConversation
		errs      [5]error
	)
	wg.Go(func() { mailboxes, errs[0] = r.db.MailboxStats(ctx, now.Add(-r.opts.Policy.StuckAfter)) })
	wg.Go(func() { loads, errs[1] = r.db.AgentLoads(ctx) })
	wg.Go(func() {
		queue, errs[2] = r.db.OpenConversations(ctx, store.OpenFilter{Assignment: store.OnlyUnassigned})
	})
	wg.Go(func() {
		if users, errs[3] = r.db.Users(ctx); errs[3] == nil {
			statuses, errs[4] = r.db.UserStatuses(ctx)
		}
	})
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return metrics.State{}, fmt.Errorf("read metrics state: %w", err)
	}
	snap := store.Snapshot{TakenAt: now, Users: users, Statuses: statuses, Conversations: withAssignees(queue, loads)}
	t := buildTeam(snap, r.opts.Roster, now)
	t.snapshot.Conversations = withLoads(t.snapshot.Conversations, loads)
	st := balancer.Measure(t.snapshot, r.opts.Policy)
	views := withStats(t.views, st, nil)
	active := make(map[int64]int, len(loads))
	for _, l := range loads {
		active[l.AgentID] = l.Active
	}

	out := metrics.State{
		Mailboxes: make([]metrics.MailboxState, 0, len(mailboxes)),
		Agents:    make([]metrics.AgentState, 0, len(views)),
		Imbalance: st.Imbalance,
		Jain:      st.Jain,
	}
	for _, m := range mailboxes {
		ms := metrics.MailboxState{MailboxID: m.MailboxID, ByStatus: m.ByStatus, Unassigned: m.Unassigned, Stuck: m.Stuck}
		if !m.OldestWaitingSince.IsZero() {
			ms.OldestWaitSeconds = max(now.Sub(m.OldestWaitingSince).Seconds(), 0)
		}
		out.Mailboxes = append(out.Mailboxes, ms)
	}
	for _, v := range views {
		name := v.Name
		if strings.Contains(name, "@") {
			name = "" // userName falls back to the email; never a label
		}
		out.Agents = append(out.Agents, metrics.AgentState{
			AgentID:   v.ID,
			Name:      name,
			Role:      v.Role,
			Level:     v.Level,
			Status:    v.Status,
			Open:      active[v.ID],
			LoadRatio: v.LoadRatio,
		})
	}
	return out, nil
}

// placeholderStatus weighs nothing in the balancer: the placeholder that
// makes buildTeam list an assignee missing from the users table.
const placeholderStatus = store.StatusClosed

// withAssignees adds to the unassigned queue one weightless placeholder per
// assignee, so that buildTeam lists every assignee (a removed user too)
// exactly as it does from a full snapshot. Placeholders have negative ids,
// which no real conversation has.
func withAssignees(queue []store.OpenConversation, loads []store.AgentLoad) []store.OpenConversation {
	out := make([]store.OpenConversation, len(queue), len(queue)+len(loads))
	copy(out, queue)
	for i, l := range loads {
		out = append(out, store.OpenConversation{ID: -int64(i + 1), AssigneeID: l.AgentID, Status: placeholderStatus})
	}
	return out
}

// withLoads adds one placeholder per assigned open ticket, carrying only
// what balancer.Measure reads: assignee, status and whether the customer
// waits on us. Its ids continue below those of withAssignees.
func withLoads(convs []balancer.Conversation, loads []store.AgentLoad) []balancer.Conversation {
	n := len(convs)
	for _, l := range loads {
		n += l.Active + l.Pending
	}
	out := slices.Grow(convs, n-len(convs))
	next := -int64(len(loads) + 1)
	add := func(agent int64, status balancer.Status, waiting bool, count int) {
		for range count {
			out = append(out, balancer.Conversation{ID: next, AssigneeID: agent, Status: status, WaitingOnUs: waiting})
			next--
		}
	}
	for _, l := range loads {
		add(l.AgentID, balancer.StatusActive, true, l.Waiting)
		add(l.AgentID, balancer.StatusActive, false, l.Active-l.Waiting)
		add(l.AgentID, balancer.StatusPending, false, l.Pending)
	}
	return out
}

var _ metrics.StateSource = (*Rebalancer)(nil)
