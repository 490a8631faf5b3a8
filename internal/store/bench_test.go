package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// Benchmark sizes. QW_STORE_BENCH_CONVERSATIONS overrides the read-model
// size (default 100,000; 10,000 under -short).
const (
	benchAgents    = 500
	benchMailboxes = 5
	benchPageSize  = 25 // Help Scout's page of conversations
)

func benchSize(b *testing.B) int {
	b.Helper()
	if v := os.Getenv("QW_STORE_BENCH_CONVERSATIONS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("QW_STORE_BENCH_CONVERSATIONS=%q: want a positive integer", v)
		}
		return n
	}
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// benchConversation makes conversation i of a synthetic account with three
// threads. The mix: 40% active, 10% pending, 45% closed, 5% spam; one active
// in 50 unassigned; half the tickets have the customer waiting; 1% pinned.
func benchConversation(i int, version time.Time) ConversationUpdate {
	id := int64(i + 1)
	c := Conversation{
		ID: id, Number: id, MailboxID: int64(1 + i%benchMailboxes), Type: "email", State: StatePublished,
		Subject: "synthetic", AssigneeID: benchAgent(i), CreatedByType: ByCustomer, CreatedByID: 100_000 + id,
		CustomerID: 100_000 + id, CustomerEmail: "c@example.com",
		CreatedAt: t0.Add(-time.Duration(i%5000) * time.Minute), UserUpdatedAt: version, ThreadCount: 3,
		CustomerWaitingSince: t0.Add(-time.Duration(i%1000) * time.Minute),
	}
	switch r := i % 20; {
	case r < 8:
		c.Status = StatusActive
		if i%50 == 0 {
			c.AssigneeID = 0
		}
	case r < 10:
		c.Status = StatusPending
	case r < 19:
		c.Status, c.ClosedAt = StatusClosed, version
	default:
		c.Status = StatusSpam
	}
	if i%100 == 0 {
		c.Tags = []string{PinTag}
	}
	ts := make([]Thread, 3)
	for k := range ts {
		ts[k] = Thread{ID: id*10 + int64(k), Type: ThreadCustomer, State: StatePublished, Status: "nochange",
			CreatedByType: ByCustomer, CreatedAt: c.CreatedAt.Add(time.Duration(k) * time.Minute)}
		if k == 1 || (k == 2 && i%2 == 1) {
			ts[k].Type, ts[k].CreatedByType, ts[k].CreatedByID = ThreadMessage, ByUser, c.AssigneeID
		}
	}
	return ConversationUpdate{Conversation: c, Threads: ts, ThreadsComplete: true}
}

// seededBenchStore opens a store holding benchConversation 0..n-1.
func seededBenchStore(b *testing.B, n int) *DB {
	b.Helper()
	db, _ := openTest(b)
	seedConversations(b, db, n, func(i int) ConversationUpdate { return benchConversation(i, t0) })
	return db
}

// seedConversations stores conversation(0..n-1), a thousand a transaction.
func seedConversations(tb testing.TB, db *DB, n int, conversation func(i int) ConversationUpdate) {
	tb.Helper()
	const seedPage = 1000
	for start := 0; start < n; start += seedPage {
		us := make([]ConversationUpdate, 0, seedPage)
		for i := start; i < min(start+seedPage, n); i++ {
			us = append(us, conversation(i))
		}
		if _, err := db.ApplyConversations(context.Background(), us); err != nil {
			tb.Fatal(err)
		}
	}
}

// seedAgents stores users 1..n, every one Active.
func seedAgents(tb testing.TB, db *DB, n int) {
	tb.Helper()
	ctx := context.Background()
	users := make([]User, n)
	statuses := make([]UserStatus, n)
	for i := range users {
		users[i] = User{ID: int64(i + 1), First: fmt.Sprint("agent", i+1), Type: UserTypeUser}
		statuses[i] = UserStatus{UserID: int64(i + 1), Status: "active"}
	}
	if err := db.ReplaceUsers(ctx, users); err != nil {
		tb.Fatal(err)
	}
	if err := db.ReplaceUserStatuses(ctx, statuses); err != nil {
		tb.Fatal(err)
	}
}

// benchAgent spreads conversations over the agents independently of the
// status mix (a plain i%500 would tie agents to statuses).
func benchAgent(i int) int64 {
	return int64(1 + (uint32(i)*2654435761>>16)%benchAgents)
}

// BenchmarkCommitPage measures mirror write throughput: pages of 25
// conversations with 3 threads each, committed with their cursor.
func BenchmarkCommitPage(b *testing.B) {
	for _, mode := range []string{"insert", "update"} {
		b.Run(mode, func(b *testing.B) {
			db, _ := openTest(b)
			ctx := context.Background()
			version := t0
			if mode == "update" {
				// Every page replaces stored conversations with a newer version.
				for start := 0; start < 10*benchPageSize; start += benchPageSize {
					if _, err := db.CommitPage(ctx, benchPage(start, version), "bench", version); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ResetTimer()
			for i := range b.N {
				start := i * benchPageSize
				if mode == "update" {
					start = (i % 10) * benchPageSize
					version = version.Add(time.Second)
				}
				n, err := db.CommitPage(ctx, benchPage(start, version), "bench", version)
				if err != nil || n != benchPageSize {
					b.Fatalf("CommitPage = %d, %v", n, err)
				}
			}
			b.ReportMetric(float64(b.N*benchPageSize)/b.Elapsed().Seconds(), "conversations/s")
		})
	}
}

func benchPage(start int, version time.Time) []ConversationUpdate {
	us := make([]ConversationUpdate, benchPageSize)
	for k := range us {
		us[k] = benchConversation(start+k, version)
	}
	return us
}

// BenchmarkReadModels measures the scrape-time and balancer queries on a
// mirror of benchSize conversations (half of them open), 500 agents and
// 1,000 applied moves.
func BenchmarkReadModels(b *testing.B) {
	n := benchSize(b)
	ctx := context.Background()
	seedStart := time.Now()
	db := seededBenchStore(b, n)
	seedAgents(b, db, benchAgents)
	for i := range 1000 {
		p := proposal(int64(i*7%n+1), 1, int64(2+i%benchAgents))
		p.Status, p.DecidedBy = ProposalApproved, "bench"
		ps, err := db.InsertProposals(ctx, []Proposal{p})
		if err == nil {
			_, err = db.ClaimProposal(ctx, ps[0].ID)
		}
		if err == nil {
			_, err = db.MarkProposalApplied(ctx, ps[0].ID)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	// What the daemon does after its first full sync.
	if err := db.Optimize(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d conversations in %v", n, time.Since(seedStart).Round(time.Millisecond))

	stuckBefore := t0.Add(-4 * time.Hour)
	queries := []benchQuery{
		{"MailboxStats", func() (int, error) { s, err := db.MailboxStats(ctx, stuckBefore); return len(s), err }},
		{"AgentLoads", func() (int, error) { s, err := db.AgentLoads(ctx); return len(s), err }},
		{"Scrape", func() (int, error) {
			// What the metrics collector reads per scrape (team's
			// Reader.State), one after another here.
			s, err := db.MailboxStats(ctx, stuckBefore)
			if err != nil {
				return 0, err
			}
			l, err := db.AgentLoads(ctx)
			if err != nil {
				return 0, err
			}
			q, err := db.OpenConversations(ctx, OpenFilter{Assignment: OnlyUnassigned})
			if err != nil {
				return 0, err
			}
			u, err := db.Users(ctx)
			if err != nil {
				return 0, err
			}
			st, err := db.UserStatuses(ctx)
			return len(s) + len(l) + len(q) + len(u) + len(st), err
		}},
		{"StuckList", func() (int, error) {
			s, err := db.OpenConversations(ctx, OpenFilter{Assignment: OnlyAssigned, WaitingBefore: stuckBefore, Limit: 100})
			return len(s), err
		}},
		{"Snapshot", func() (int, error) {
			s, err := db.Snapshot(ctx, SnapshotWindows{AssignedSince: t0.Add(-time.Hour), RepliedSince: t0.Add(-14 * 24 * time.Hour)})
			return len(s.Conversations), err
		}},
		{"UnobservedFirstResponses", func() (int, error) { s, err := db.UnobservedFirstResponses(ctx, 1000); return len(s), err }},
		// Once per start, before the first poll (mirror.settleScope).
		{"HeldMailboxes", func() (int, error) { s, err := db.HeldMailboxes(ctx); return len(s), err }},
		{"FirstResponseTimes", func() (int, error) {
			// The queue page's figures for the last 24 hours. The bench
			// mirror spans only 3.5 days, so an hour of it (1.2% of the
			// rows) stands for a day of a real mirror spanning months.
			s, err := db.FirstResponseTimes(ctx, t0.Add(-time.Hour))
			return len(s), err
		}},
	}
	benchQueries(b, queries)
}

// BenchmarkRederive measures the one-off cost, at the first Open by a
// binary with newer fact rules, of re-deriving every stored conversation
// (100k by default, three threads each). Every tenth row is made stale so
// that the writes are measured too.
func BenchmarkRederive(b *testing.B) {
	n := benchSize(b)
	ctx := context.Background()
	db := seededBenchStore(b, n)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if _, err := db.write.ExecContext(ctx, "UPDATE conversations SET first_reply_at = NULL WHERE id % 10 = 0"); err != nil {
			b.Fatal(err)
		}
		if _, err := db.write.ExecContext(ctx, "UPDATE facts_revision SET revision = 1"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		changed, err := rederiveFacts(ctx, db.write)
		if err != nil {
			b.Fatal(err)
		}
		if changed != n/10 {
			b.Fatalf("changed %d rows, want %d", changed, n/10)
		}
	}
	b.ReportMetric(float64(n), "conversations")
}

// benchQuery is one read a benchmark times; run returns how many rows it
// read, reported beside the time.
type benchQuery struct {
	name string
	run  func() (rows int, err error)
}

// benchQueries times each query as a sub-benchmark.
func benchQueries(b *testing.B, queries []benchQuery) {
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			rows := 0
			for b.Loop() {
				r, err := q.run()
				if err != nil {
					b.Fatal(err)
				}
				rows = r
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}

// BenchmarkDamageCleared times the integrity check DamageCleared runs
// while the file is held damaged (and never otherwise), beside the quick
// check it replaced, which missed an index that disagrees with its table;
// and what DamageCleared costs a poll on average while the damage lasts,
// asked after every poll, 2 minutes apart (QW_POLL_INTERVAL's default).
func BenchmarkDamageCleared(b *testing.B) {
	n := benchSize(b)
	ctx := context.Background()
	db := seededBenchStore(b, n)
	for _, check := range []string{"integrity_check", "quick_check"} {
		b.Run(check, func(b *testing.B) {
			for b.Loop() {
				var result string
				if err := db.read.QueryRowContext(ctx, "PRAGMA "+check+"(1)").Scan(&result); err != nil || result != "ok" {
					b.Fatalf("%s = %q (%v)", check, result, err)
				}
			}
			b.ReportMetric(float64(n), "conversations")
		})
	}
	b.Run("per_poll", func(b *testing.B) {
		now := t0
		db.Now = func() time.Time { return now }
		checks := 0
		for b.Loop() {
			db.damaged.Store(true) // the file passes, but is held damaged again
			now = now.Add(2 * time.Minute)
			if db.DamageCleared(ctx) {
				checks++
			}
		}
		b.ReportMetric(float64(checks)/float64(b.N), "checks/poll")
		b.ReportMetric(float64(n), "conversations")
	})
}

// BenchmarkRefusals measures the cooldown's read of the refusals (the
// moves rejected in the last day, at every balancer run and page view) in
// a year's audit log of 50,000 proposals, a tenth of them rejected. The
// log is never pruned: through proposals_status the read took every
// rejection ever made, 5.6 ms a read on a shared 2-core machine (40 ms
// after a plain ANALYZE); through proposals_decided (migration 0018) it
// takes the day's 13, 0.25 to 0.5 ms.
func BenchmarkRefusals(b *testing.B) {
	db, _ := openTest(b)
	ctx := context.Background()
	tx, err := db.write.Begin()
	if err != nil {
		b.Fatal(err)
	}
	const n = 50000
	year := (365 * 24 * time.Hour).Milliseconds()
	for i := range n {
		ts := t0.UnixMilli() - year + year*int64(i)/n
		status := ProposalApplied
		switch i % 10 {
		case 3:
			status = ProposalRejected
		case 6:
			status = ProposalStale
		}
		if _, err := tx.Exec(`INSERT INTO proposals (created_at, updated_at, conversation_id, to_agent, reason, status, decided_at, applied_at)
			VALUES (?, ?, ?, 2, 'stuck', ?, ?, ?)`, ts, ts, i+1, string(status), ts, ts); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if err := db.Optimize(ctx); err != nil {
		b.Fatal(err)
	}
	f := ProposalFilter{Statuses: []ProposalStatus{ProposalRejected}, DecidedSince: t0.Add(-24 * time.Hour)}
	benchQueries(b, []benchQuery{{"RejectedSince", func() (int, error) {
		ps, err := db.ListProposals(ctx, f)
		return len(ps), err
	}}})
}
