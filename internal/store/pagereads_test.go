package store

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCustomerNames(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	var us []ConversationUpdate
	named := conv(1, t0)
	emailOnly := conv(2, t0)
	emailOnly.CustomerFirst, emailOnly.CustomerLast = "", ""
	nothing := conv(3, t0)
	nothing.CustomerFirst, nothing.CustomerLast, nothing.CustomerEmail = "", "", ""
	firstOnly := conv(4, t0)
	firstOnly.CustomerLast = ""
	hostile := conv(5, t0)
	hostile.CustomerFirst, hostile.CustomerLast = `"><img src=x onerror=alert(1)>`, ""
	for _, c := range []Conversation{named, emailOnly, nothing, firstOnly, hostile} {
		us = append(us, ConversationUpdate{Conversation: c})
	}
	// Enough conversations to need more than one IN (...) chunk.
	for i := range customerNamesChunk + 10 {
		c := conv(int64(1000+i), t0)
		c.CustomerFirst, c.CustomerLast = "Bulk", "Customer"
		us = append(us, ConversationUpdate{Conversation: c})
	}
	if _, err := db.ApplyConversations(ctx, us); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		ids  []int64
		want map[int64]string
	}{
		{"none asked", nil, map[int64]string{}},
		{"names, email fallback, nothing, unknown id", []int64{1, 2, 3, 4, 5, 999},
			map[int64]string{1: "Cus Tomer", 2: "c@example.com", 4: "Cus", 5: `"><img src=x onerror=alert(1)>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.CustomerNames(ctx, tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CustomerNames (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("across chunks", func(t *testing.T) {
		var ids []int64
		for i := range customerNamesChunk + 10 {
			ids = append(ids, int64(1000+i))
		}
		got, err := db.CustomerNames(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) || got[ids[len(ids)-1]] != "Bulk Customer" {
			t.Errorf("got %d names (last %q), want %d named Bulk Customer", len(got), got[ids[len(ids)-1]], len(ids))
		}
	})
}

func TestFirstResponseTimes(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	add := func(c Conversation, ts []Thread) ConversationUpdate {
		return ConversationUpdate{Conversation: c, Threads: ts, ThreadsComplete: true}
	}
	replied := conv(1, t0) // threads(…, 2): the customer at +10m, the first reply at +20m
	late := conv(2, t0)
	late.CreatedAt = at(-time.Hour) // created an hour earlier: 1h20m to the reply
	noReply := conv(3, t0)
	byAgent := conv(4, t0)
	byAgent.CreatedByType, byAgent.CreatedByID = ByUser, 7
	spam := conv(5, t0)
	spam.Status = StatusSpam
	closed := conv(6, t0)
	closed.Status, closed.ClosedAt = StatusClosed, at(time.Hour)
	if _, err := db.ApplyConversations(ctx, []ConversationUpdate{
		add(replied, threads(1, 2)), add(late, threads(2, 2)), add(noReply, threads(3, 1)),
		add(byAgent, threads(4, 2)), add(spam, threads(5, 2)), add(closed, threads(6, 2)),
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		since time.Time
		want  []time.Duration
	}{
		{"replies since the start", t0, []time.Duration{20 * time.Minute, 20 * time.Minute, 80 * time.Minute}},
		{"since the reply itself", at(20 * time.Minute), []time.Duration{20 * time.Minute, 20 * time.Minute, 80 * time.Minute}},
		{"after every reply", at(21 * time.Minute), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.FirstResponseTimes(ctx, tt.since)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FirstResponseTimes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFirstResponsesBetween: the digest's day holds the replies sent in
// it, the end excluded, with both ends of each response.
func TestFirstResponsesBetween(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	replied := conv(1, t0) // threads(…, 2): the customer at +10m, the first reply at +20m
	late := conv(2, t0)
	late.CreatedAt = at(-time.Hour)
	spam := conv(3, t0)
	spam.Status = StatusSpam
	if _, err := db.ApplyConversations(ctx, []ConversationUpdate{
		{Conversation: replied, Threads: threads(1, 2), ThreadsComplete: true},
		{Conversation: late, Threads: threads(2, 2), ThreadsComplete: true},
		{Conversation: spam, Threads: threads(3, 2), ThreadsComplete: true},
	}); err != nil {
		t.Fatal(err)
	}
	reply := at(20 * time.Minute)
	for _, tt := range []struct {
		name     string
		from, to time.Time
		want     []FirstResponse
	}{
		{"the range holds both replies", t0, at(time.Hour), []FirstResponse{
			{CreatedAt: late.CreatedAt, RepliedAt: reply}, {CreatedAt: replied.CreatedAt, RepliedAt: reply}}},
		{"the end is excluded", t0, reply, nil},
		{"the start is included", reply, at(21 * time.Minute), []FirstResponse{
			{CreatedAt: late.CreatedAt, RepliedAt: reply}, {CreatedAt: replied.CreatedAt, RepliedAt: reply}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.FirstResponsesBetween(ctx, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b FirstResponse) int { return a.CreatedAt.Compare(b.CreatedAt) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FirstResponsesBetween (-want +got):\n%s", diff)
			}
		})
	}
}

// BenchmarkPageReads measures the queue page's own reads on a mirror of
// benchSize conversations: the names of the 400 rows a page shows at most,
// and a day of first responses (a table scan: no index covers
// first_reply_at).
func BenchmarkPageReads(b *testing.B) {
	n := benchSize(b)
	ctx := context.Background()
	db := seededBenchStore(b, n)
	if err := db.Optimize(ctx); err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 400)
	for i := range ids {
		ids[i] = int64(i*(n/400) + 1)
	}
	queries := []benchQuery{
		{"CustomerNames400", func() (int, error) { m, err := db.CustomerNames(ctx, ids); return len(m), err }},
		{"FirstResponseTimesDay", func() (int, error) {
			d, err := db.FirstResponseTimes(ctx, t0.Add(-24*time.Hour))
			return len(d), err
		}},
	}
	benchQueries(b, queries)
}
