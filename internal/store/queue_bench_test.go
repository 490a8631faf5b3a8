package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The queue page's and the conversations API's reads on a mirror that
// looks like a real account after a year: almost everything closed, a few
// thousand tickets open, about a thousand in the Unassigned folder, and an
// audit log of moves that is never pruned.
const (
	queueAgents            = 60
	queueMailboxes         = 3
	queueDecidedProposals  = 20_000 // a year of moves, rejections and stale ones
	queuePendingProposals  = 40
	queueConversationEvery = 5 * time.Minute // created one every 5 min: 100,000 span a year
	queuePageRows          = 200             // httpapi's pageMaxRows
	queueAPILimit          = 1000            // httpapi's maxConversations
	queueRecentMoves       = 30              // httpapi's recentMoves
)

// queueConversation makes conversation i of n. The newest 8,000 (four
// weeks) hold the open work: per 8, one active and unassigned, two active
// and assigned, one pending. Older ones are closed but for one pending in
// 1,000 (a slow ticket stays open) and one spam in 100. About 4,000 open
// tickets, 1,000 of them unassigned; the customers of the active ones have
// waited up to two days, so the stuck list has rows.
func queueConversation(i, n int) ConversationUpdate {
	id := int64(i + 1)
	created := t0.Add(-time.Duration(n-i) * queueConversationEvery)
	assignee := int64(1 + (uint32(i)*2654435761>>16)%queueAgents)
	c := Conversation{
		ID: id, Number: id, MailboxID: int64(1 + i%queueMailboxes), Type: "email", State: StatePublished,
		Subject: "synthetic", AssigneeID: assignee, CreatedByType: ByCustomer, CreatedByID: 100_000 + id,
		CustomerID: 100_000 + id, CustomerFirst: "Pat", CustomerLast: fmt.Sprint("Customer", id),
		CustomerEmail: "c@example.com", CreatedAt: created, UserUpdatedAt: created.Add(time.Hour), ThreadCount: 3,
		Status: StatusClosed, ClosedAt: created.Add(time.Hour),
	}
	switch {
	case i >= n-8000 && i%8 == 0:
		c.Status, c.AssigneeID, c.ClosedAt = StatusActive, 0, time.Time{}
	case i >= n-8000 && (i%8 == 1 || i%8 == 2):
		c.Status, c.ClosedAt = StatusActive, time.Time{}
	case i >= n-8000 && i%8 == 3, i%1000 == 3:
		c.Status, c.ClosedAt = StatusPending, time.Time{}
	case i%100 == 99:
		c.Status, c.ClosedAt = StatusSpam, time.Time{}
	}
	if i%500 == 1 {
		c.Tags = []string{PinTag}
	}
	open := c.Status == StatusActive || c.Status == StatusPending
	ts := make([]Thread, 3)
	for k := range ts {
		at := created.Add(time.Duration(k) * 20 * time.Minute)
		if open && k == 2 {
			at = t0.Add(-time.Duration(i%2880) * time.Minute) // the customer's last word, up to two days ago
		}
		ts[k] = Thread{ID: id*10 + int64(k), Type: ThreadCustomer, State: StatePublished, Status: "nochange",
			CreatedByType: ByCustomer, CreatedAt: at}
		if k == 1 {
			ts[k].Type, ts[k].CreatedByType, ts[k].CreatedByID = ThreadMessage, ByUser, c.AssigneeID
		}
	}
	if open {
		c.CustomerWaitingSince = ts[2].CreatedAt
		c.UserUpdatedAt = ts[2].CreatedAt
	}
	return ConversationUpdate{Conversation: c, Threads: ts, ThreadsComplete: true}
}

// seededQueueStore opens a store holding queueConversation 0..n-1, its
// agents, and the proposals of a year: queueDecidedProposals decided ones
// (inserted in SQL: the transitions are not what is measured) and
// queuePendingProposals waiting for an SST.
func seededQueueStore(b *testing.B, n int) *DB {
	b.Helper()
	ctx := context.Background()
	db, _ := openTest(b)
	seedConversations(b, db, n, func(i int) ConversationUpdate { return queueConversation(i, n) })
	seedAgents(b, db, queueAgents)
	// Decided proposals on closed conversations, one every ~26 minutes of
	// the year, most applied.
	if _, err := db.write.ExecContext(ctx, `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?1)
		INSERT INTO proposals (created_at, updated_at, conversation_id, conversation_number, mailbox_id,
			from_agent, to_agent, reason, explanation, status, decided_at, applied_at)
		SELECT ?2 - (?1 - i) * 1560000, ?2 - (?1 - i) * 1560000, (i * 5) % ?3 + 5, (i * 5) % ?3 + 5, 1,
			1 + i % ?4, 1 + (i + 1) % ?4, 'overload', 'customer waiting 6h 10m',
			CASE i % 10 WHEN 0 THEN 'rejected' WHEN 1 THEN 'stale' WHEN 2 THEN 'failed' ELSE 'applied' END,
			?2 - (?1 - i) * 1560000, CASE WHEN i % 10 > 2 THEN ?2 - (?1 - i) * 1560000 END
		FROM k`, queueDecidedProposals, t0.UnixMilli(), n, queueAgents); err != nil {
		b.Fatal(err)
	}
	pending := make([]Proposal, queuePendingProposals)
	for k := range pending {
		pending[k] = proposal(int64(n-8000+k*8+2), 1, 2) // active, assigned
	}
	if _, err := db.InsertProposals(ctx, pending); err != nil {
		b.Fatal(err)
	}
	// What the daemon does after its first full sync.
	if err := db.Optimize(ctx); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkQueueReads measures, on a mirror of benchSize conversations
// (default 100,000) with a realistic mix, the store reads of one queue
// page view and of one call of /api/v1/conversations per state, each read
// alone and then the view or call as a whole (what the handler waits on
// before it renders). rows is what the last read or call returned.
func BenchmarkQueueReads(b *testing.B) {
	n := benchSize(b)
	ctx := context.Background()
	seedStart := time.Now()
	db := seededQueueStore(b, n)
	b.Logf("seeded %d conversations and %d proposals in %v", n, queueDecidedProposals+queuePendingProposals,
		time.Since(seedStart).Round(time.Millisecond))

	stuckBefore := t0.Add(-4 * time.Hour)
	openStatuses := []ProposalStatus{ProposalPending, ProposalApproved, ProposalApplying}
	decided := []ProposalStatus{ProposalApplied, ProposalStale, ProposalFailed, ProposalRejected, ProposalApproved, ProposalApplying}
	filters := map[string]OpenFilter{
		"open":       {Limit: queueAPILimit},
		"unassigned": {Assignment: OnlyUnassigned, ActiveOnly: true, Limit: queueAPILimit},
		"stuck":      {Assignment: OnlyAssigned, WaitingBefore: stuckBefore, Limit: queueAPILimit},
	}
	// apiCall is what handleConversations reads: the list, and the count
	// when the list reached the limit (then truncated and total).
	apiCall := func(f OpenFilter) (int, error) {
		cs, err := db.OpenConversations(ctx, f)
		if err != nil || len(cs) < f.Limit {
			return len(cs), err
		}
		return db.CountOpenConversations(ctx, f)
	}
	// pageView is what the page's collect reads, in its order.
	pageView := func() (int, error) {
		rows := 0
		add := func(k int, err error) error { rows += k; return err }
		snap, err := db.Snapshot(ctx, SnapshotWindows{AssignedSince: t0.Add(-time.Hour), RepliedSince: t0.Add(-14 * 24 * time.Hour)})
		if err := add(len(snap.Conversations), err); err != nil {
			return 0, err
		}
		stuck, err := db.OpenConversations(ctx, OpenFilter{Assignment: OnlyAssigned, WaitingBefore: stuckBefore})
		if err := add(len(stuck), err); err != nil {
			return 0, err
		}
		open, err := db.ListProposals(ctx, ProposalFilter{Statuses: openStatuses})
		if err := add(len(open), err); err != nil {
			return 0, err
		}
		unassigned, err := db.OpenConversations(ctx, OpenFilter{Assignment: OnlyUnassigned, ActiveOnly: true})
		if err := add(len(unassigned), err); err != nil {
			return 0, err
		}
		var ids []int64
		for _, list := range [][]OpenConversation{stuck, unassigned} {
			for _, c := range list[:min(len(list), queuePageRows)] {
				ids = append(ids, c.ID)
			}
		}
		names, err := db.CustomerNames(ctx, ids)
		if err := add(len(names), err); err != nil {
			return 0, err
		}
		moves, err := db.ListProposals(ctx, ProposalFilter{Statuses: decided, Limit: queueRecentMoves})
		if err := add(len(moves), err); err != nil {
			return 0, err
		}
		frt, err := db.FirstResponseTimes(ctx, t0.Add(-24*time.Hour))
		return rows + len(frt), err
	}

	queries := []benchQuery{
		{"Page/Snapshot", func() (int, error) {
			s, err := db.Snapshot(ctx, SnapshotWindows{AssignedSince: t0.Add(-time.Hour), RepliedSince: t0.Add(-14 * 24 * time.Hour)})
			return len(s.Conversations), err
		}},
		{"Page/Stuck", func() (int, error) {
			s, err := db.OpenConversations(ctx, OpenFilter{Assignment: OnlyAssigned, WaitingBefore: stuckBefore})
			return len(s), err
		}},
		{"Page/OpenProposals", func() (int, error) {
			s, err := db.ListProposals(ctx, ProposalFilter{Statuses: openStatuses})
			return len(s), err
		}},
		{"Page/Unassigned", func() (int, error) {
			s, err := db.OpenConversations(ctx, OpenFilter{Assignment: OnlyUnassigned, ActiveOnly: true})
			return len(s), err
		}},
		{"Page/RecentMoves", func() (int, error) {
			s, err := db.ListProposals(ctx, ProposalFilter{Statuses: decided, Limit: queueRecentMoves})
			return len(s), err
		}},
		{"Page/FirstResponsesDay", func() (int, error) {
			s, err := db.FirstResponseTimes(ctx, t0.Add(-24*time.Hour))
			return len(s), err
		}},
		{"Page/View", pageView},
	}
	for _, state := range []string{"open", "unassigned", "stuck"} {
		f := filters[state]
		queries = append(queries,
			benchQuery{"API/" + state + "/List", func() (int, error) { s, err := db.OpenConversations(ctx, f); return len(s), err }},
			benchQuery{"API/" + state + "/Count", func() (int, error) { return db.CountOpenConversations(ctx, f) }},
			benchQuery{"API/" + state + "/Call", func() (int, error) { return apiCall(f) }},
		)
	}
	benchQueries(b, queries)
}
