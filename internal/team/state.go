package team

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// State implements metrics.StateSource: the current state behind the
// scrape-time gauges, read from the mirror at the reader's clock. It is the
// one place where the team's Agent becomes the metrics package's plain
// AgentState.
//
// A scrape must stay cheap at 100,000 mirrored conversations, so State
// reads the store's aggregates (counts per mailbox and per assignee, which
// SQLite computes from indexes) instead of the balancer's full snapshot of
// every open conversation, which costs about six times the CPU there
// (BenchmarkScrape). The balancer's figures depend only on how many tickets
// of each weight class every agent holds, on the unassigned queue, and, for
// an agent off shift, on how many of their waiting customers are due to be
// handed over (store.WaitingBefore, one more indexed read). So the assigned
// tickets are handed to balancer.Measure as one placeholder per ticket
// carrying just its class and, off shift, a wait start on the right side of
// the cutoff: the load ratios, imbalance and Jain on /metrics are exactly
// those of the queue page and of Plan. The reads are separate transactions;
// the gauges may mix states a few milliseconds apart, which no panel can
// tell.
func (r *Reader) State(ctx context.Context) (metrics.State, error) {
	now := r.now().UTC()
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
	wg.Go(func() { mailboxes, errs[0] = r.db.MailboxStats(ctx, now.Add(-r.policy.StuckAfter)) })
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
	v := Build(snap, r.roster, now)
	// Which waiting tickets an agent off shift hands over depends on how
	// long each customer has waited (balancer's handOver); count those
	// for them alone, after Build has said who is off shift.
	offShift := dueCutoffs(v.Snapshot.Agents, r.policy)
	due, err := r.db.WaitingBefore(ctx, now, offShift, !r.policy.HandOverOngoing)
	if err != nil {
		return metrics.State{}, fmt.Errorf("read metrics state: %w", err)
	}
	v.Snapshot.Conversations = withLoads(v.Snapshot.Conversations, loads, offShift, due)
	agents, st := v.Measure(r.policy)
	active := make(map[int64]int, len(loads))
	for _, l := range loads {
		active[l.AgentID] = l.Active
	}

	out := metrics.State{
		Mailboxes: make([]metrics.MailboxState, 0, len(mailboxes)),
		Agents:    make([]metrics.AgentState, 0, len(agents)),
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
	for _, a := range agents {
		name := a.Name
		if strings.Contains(name, "@") {
			name = "" // DisplayName falls back to the email; never a label
		}
		out.Agents = append(out.Agents, metrics.AgentState{
			AgentID:      a.ID,
			Name:         name,
			Role:         a.Role,
			Level:        a.Level,
			Status:       a.Status,
			Open:         active[a.ID],
			LoadRatio:    a.LoadRatio,
			HasFairShare: a.FairShare > 0,
		})
	}
	return out, nil
}

// placeholderStatus weighs nothing in the balancer: the placeholder that
// makes Build list an assignee missing from the users table.
const placeholderStatus = store.StatusClosed

// withAssignees adds to the unassigned queue one weightless placeholder per
// assignee, so that Build lists every assignee (a removed user too)
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

// dueCutoffs gives, for each agent off shift with a known return (BackAt),
// the time before which a customer must have started waiting for the
// ticket to be due to be handed over: BackAt minus the stuck threshold.
func dueCutoffs(agents []balancer.Agent, p balancer.Policy) map[int64]time.Time {
	out := map[int64]time.Time{}
	for _, a := range agents {
		if !a.Available && !a.BackAt.IsZero() {
			out[a.ID] = a.BackAt.Add(-p.StuckAfter)
		}
	}
	return out
}

// withLoads adds one placeholder per assigned open ticket, carrying only
// what balancer.Measure reads: assignee, status and whether the customer
// waits on us. For an agent with a cutoff (dueCutoffs), due[agent] of
// their waiting placeholders start waiting just before it, so that the
// balancer finds them due, and the rest at it, so that it does not; the
// placeholders of everyone else have no wait start, which the balancer
// reads as now. Its ids continue below those of withAssignees.
func withLoads(convs []balancer.Conversation, loads []store.AgentLoad, cutoff map[int64]time.Time, due map[int64]int) []balancer.Conversation {
	n := len(convs)
	for _, l := range loads {
		n += l.Active + l.Pending
	}
	out := slices.Grow(convs, n-len(convs))
	next := -int64(len(loads) + 1)
	add := func(agent int64, status balancer.Status, waiting bool, since time.Time, count int) {
		for range count {
			out = append(out, balancer.Conversation{ID: next, AssigneeID: agent, Status: status,
				WaitingOnUs: waiting, CustomerWaitingSince: since})
			next--
		}
	}
	for _, l := range loads {
		if c, ok := cutoff[l.AgentID]; ok {
			d := min(due[l.AgentID], l.Waiting)
			add(l.AgentID, balancer.StatusActive, true, c.Add(-time.Millisecond), d)
			add(l.AgentID, balancer.StatusActive, true, c, l.Waiting-d)
		} else {
			add(l.AgentID, balancer.StatusActive, true, time.Time{}, l.Waiting)
		}
		add(l.AgentID, balancer.StatusActive, false, time.Time{}, l.Active-l.Waiting)
		add(l.AgentID, balancer.StatusPending, false, time.Time{}, l.Pending)
	}
	return out
}

var _ metrics.StateSource = (*Reader)(nil)
