package backfill_test

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/backfill"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// realisticMirror stores n customer conversations over the 90 days before
// now in 3 mailboxes answered by 10 agents: first responses log-uniform
// from a minute to two days, seven in ten resolved within five days (those not yet by now stay open). Nothing
// is marked: `sync` has run, the daemon not yet.
func realisticMirror(b *testing.B, n int, now time.Time) *store.DB {
	b.Helper()
	db := testkit.OpenStore(b)
	r := rand.New(rand.NewPCG(19, 90))
	var batch []store.ConversationUpdate
	logUniform := func(lo, hi time.Duration) time.Duration {
		return time.Duration(math.Exp(math.Log(float64(lo)) + r.Float64()*(math.Log(float64(hi))-math.Log(float64(lo)))))
	}
	for id := int64(1); id <= int64(n); id++ {
		created := now.Add(-time.Duration(r.Int64N(int64(88 * 24 * time.Hour)))).Add(-48 * time.Hour).Truncate(time.Second)
		replied := created.Add(logUniform(time.Minute, 48*time.Hour))
		agent := 100 + r.Int64N(10)
		c := store.Conversation{ID: id, Number: id, MailboxID: 1 + r.Int64N(3), Status: store.StatusActive,
			State: store.StatePublished, Type: "email", CreatedByType: store.ByCustomer, CreatedByID: 500, CustomerID: 500,
			AssigneeID: agent, CreatedAt: created, UserUpdatedAt: replied, ThreadCount: 2}
		if closed := replied.Add(logUniform(time.Minute, 5*24*time.Hour)); r.IntN(10) < 7 && closed.Before(now) {
			c.Status, c.ClosedBy, c.ClosedAt, c.UserUpdatedAt = store.StatusClosed, agent, closed, closed
		}
		batch = append(batch, store.ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: []store.Thread{
			{ID: id * 10, Type: store.ThreadCustomer, State: store.StatePublished, Status: "nochange",
				CreatedByType: store.ByCustomer, CreatedByID: 500, CreatedAt: created},
			{ID: id*10 + 1, Type: store.ThreadMessage, State: store.StatePublished, Status: "nochange",
				CreatedByType: store.ByUser, CreatedByID: agent, CreatedAt: replied},
		}})
		if len(batch) == 500 || id == int64(n) {
			if _, err := db.ApplyConversations(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return db
}

// BenchmarkBackfill90Days: 90 days of 10,000 conversations (about 110 a
// day) at the default one-minute step, at five and fifteen minutes, and with the
// office-hours twins; bytes and samples written per run.
func BenchmarkBackfill90Days(b *testing.B) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	db := realisticMirror(b, 10_000, now)
	office, err := roster.ParseOfficeHours("Mon-Fri 09:00-17:00 America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts backfill.Options
	}{
		{"step=1m", backfill.Options{}},
		{"step=5m", backfill.Options{Step: 5 * time.Minute}},
		{"step=15m", backfill.Options{Step: 15 * time.Minute}},
		{"step=5m/office-hours", backfill.Options{Step: 5 * time.Minute, OfficeHours: office}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := bc.opts
			opts.Since, opts.Now = 90*24*time.Hour, now
			var sum backfill.Summary
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if sum, err = backfill.Run(context.Background(), db, io.Discard, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(sum.Bytes)/(1<<20), "MiB")
			b.ReportMetric(float64(sum.Samples), "samples")
			b.ReportMetric(float64(sum.Series), "series")
		})
	}
}
