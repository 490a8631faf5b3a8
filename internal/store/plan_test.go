package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestReadModelQueriesUseIndexes pins the query plans the benchmarks rely
// on: at 100,000 conversations a full table scan per scrape would blow the
// budget, and a partial index silently stops being used when a query's
// WHERE no longer repeats the index's terms. Plans are checked on a fresh
// file and again after ANALYZE, since statistics change the planner's mind.
func TestReadModelQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	us := make([]ConversationUpdate, 300)
	for i := range us {
		us[i] = benchConversation(i, t0)
	}
	if _, err := db.ApplyConversations(ctx, us); err != nil {
		t.Fatal(err)
	}

	type check struct {
		name      string
		query     string
		args      []any
		wantIndex string
	}
	checks := []check{
		{"status counts", statusCountsQuery, nil, "conversations_mailbox_status"},
		{"unassigned", unassignedQuery, nil, "conversations_unassigned"},
		{"oldest wait", oldestWaitQuery, nil, "conversations_waiting"},
		{"stuck count", stuckCountQuery, []any{int64(0)}, "conversations_waiting"},
		{"agent loads", agentLoadQuery, nil, "conversations_open"},
		{"pinned", pinnedQuery, []any{PinTag}, "conversation_tags_tag"},
		{"assignments", assignmentsQuery, []any{int64(0)}, "proposals_applied"},
		{"unobserved first responses", unobservedFirstResponsesQuery, nil, "conversations_first_response_pending"},
		{"unobserved resolutions", unobservedResolutionsQuery, nil, "conversations_resolution_pending"},
		{"pending webhooks", pendingWebhooksQuery, []any{3, 3, int64(0)}, "webhook_inbox_work"},
		{"replayed webhook", seenWebhookQuery, []any{[]byte{1}, int64(0)}, "webhook_inbox_digest"},
		{"created before", countCreatedBeforeQuery, []any{t0.UnixMilli()}, "conversations_created"},
		{"first responses", firstResponsesQuery, []any{t0.Add(-time.Hour).UnixMilli(), t0.UnixMilli()}, "conversations_first_reply"},
		{"moves between", movesBetweenQuery, []any{int64(0), t0.UnixMilli()}, "proposals_applied"},
		{"agent replies", agentRepliesQuery, []any{t0.Add(-time.Hour).UnixMilli()}, "COVERING INDEX threads_agent_replies"},
		{"first agent reply", firstAgentReplyQuery, nil, "COVERING INDEX threads_agent_replies"},
	}
	// The cooldown's refusals: a search of the day's rejections, never a
	// read of every rejection in the audit log (BenchmarkRefusals).
	refusals, refusalArgs := proposalsQuery(ProposalFilter{Statuses: []ProposalStatus{ProposalRejected},
		DecidedSince: t0.Add(-24 * time.Hour)})
	checks = append(checks, check{"refusals", refusals, refusalArgs, "proposals_decided (status=? AND decided_at>?)"})
	for _, f := range []struct {
		name string
		f    OpenFilter
		idx  string
	}{
		{"open: all", OpenFilter{}, "conversations_open_id"},
		{"open: stuck list", OpenFilter{Assignment: OnlyAssigned, WaitingBefore: t0, Limit: 100}, "conversations_waiting_since"},
		{"open: one agent", OpenFilter{AssigneeID: 7}, "conversations_open"},
		{"open: the unassigned queue", OpenFilter{Assignment: OnlyUnassigned, ActiveOnly: true, Limit: 1000}, "conversations_open"},
	} {
		q, args := openQuery(f.f)
		checks = append(checks, check{f.name, q, args, f.idx},
			// Each listed ticket's last move is one search of the audit
			// log, which is never pruned; never a read of all of it.
			check{f.name + ": last move", q, args, "proposals_moves (status=? AND conversation_id=?)"},
			// Whether a reassignment was ours: one search of the moves
			// around it, never a read of the audit log.
			check{f.name + ": own reassignment", q, args,
				"proposals_moves (status=? AND conversation_id=? AND applied_at>? AND applied_at<?)"},
			// And whether a move recorded failed made it: one search of
			// the conversation's failed moves (ownFailedMoveQuery).
			check{f.name + ": own failed move", q, args,
				"CORRELATED SCALAR SUBQUERY 3\nSEARCH proposals USING INDEX proposals_moves (status=? AND conversation_id=?)"})
	}
	// The API's total for a cut list (truncated, total): a count over an
	// index of open tickets, never over the table.
	for _, f := range []struct {
		name string
		f    OpenFilter
		idx  string
	}{
		{"count: open", OpenFilter{}, "COVERING INDEX conversations_open"},
		{"count: stuck", OpenFilter{Assignment: OnlyAssigned, WaitingBefore: t0}, "COVERING INDEX conversations_waiting_since"},
		{"count: unassigned", OpenFilter{Assignment: OnlyUnassigned, ActiveOnly: true}, "COVERING INDEX conversations_open"},
	} {
		q, args := countOpenQuery(f.f)
		checks = append(checks, check{f.name, q, args, f.idx})
	}

	for _, phase := range []string{"fresh", "analyzed"} {
		if phase == "analyzed" {
			if err := db.Optimize(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := db.write.Exec("ANALYZE"); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range checks {
			t.Run(phase+"/"+c.name, func(t *testing.T) {
				plan := explain(t, db, c.query, c.args...)
				if !strings.Contains(plan, c.wantIndex+" ") && !strings.Contains(plan+"\n", c.wantIndex+"\n") {
					t.Errorf("plan does not use %s:\n%s", c.wantIndex, plan)
				}
				for _, line := range strings.Split(plan, "\n") {
					if strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, " USING ") {
						t.Errorf("full table scan %q in plan:\n%s", line, plan)
					}
				}
			})
		}
	}
}

func explain(t *testing.T, db *DB, q string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := db.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
