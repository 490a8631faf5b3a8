package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestDeletionsLeaveWhateverTheirStatus: a closed or spam conversation
// deleted while no webhook arrives stayed in the mirror for ever, since the
// reconcile compared only the open set (issue 17). Now every vanished
// conversation, of any status, deleted or merged away, leaves at the first
// reconcile.
func TestDeletionsLeaveWhateverTheirStatus(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 9, Conversations: 300})
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)

	byStatus := map[string][]int64{}
	for _, c := range e.fake.Conversations() {
		byStatus[c.Status] = append(byStatus[c.Status], c.ID)
	}
	for _, s := range []string{helpscouttest.StatusClosed, helpscouttest.StatusSpam, helpscouttest.StatusActive, helpscouttest.StatusPending} {
		if len(byStatus[s]) < 3 {
			t.Fatalf("seeded account has %d %s conversations; need 3", len(byStatus[s]), s)
		}
	}
	closed, spam := byStatus[helpscouttest.StatusClosed], byStatus[helpscouttest.StatusSpam]
	gone := []int64{closed[0], closed[1], spam[0], byStatus[helpscouttest.StatusPending][0]}
	for _, id := range gone {
		if err := e.fake.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Minute)
	if err := e.fake.Merge(closed[2], byStatus[helpscouttest.StatusActive][0], 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	gone = append(gone, closed[2])

	e.clock.Advance(time.Minute)
	syncOnce(t, m)
	if _, _, err := e.db.Conversation(context.Background(), closed[0]); err != nil {
		t.Fatalf("deleted conversation gone before the reconcile (%v): the test no longer shows the reconcile", err)
	}
	e.clock.Advance(10 * time.Minute)
	st := syncOnce(t, m)
	for _, id := range gone {
		if _, _, err := e.db.Conversation(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("conversation %d is still mirrored after the reconcile: %v", id, err)
		}
	}
	if st.Removed != len(gone) {
		t.Errorf("reconcile removed %d conversations, want %d", st.Removed, len(gone))
	}
	assertMirrorEqual(t, e.db, e.fake)
	t.Logf("reconcile after 5 vanished of 300: %d deletion-walk pages, %+v", st.DeletionWalkPages, st)
}

// TestDeletionWalkCost counts the deletion walk's list pages: one or two
// when nothing vanished, whatever the mirror's size, and about log2(pages)
// per vanished conversation, never more than the whole listing.
func TestDeletionWalkCost(t *testing.T) {
	n := testkit.Size(2500, 1000, 500)
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 31, Conversations: n})
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute, DirectoryEvery: 24 * time.Hour})
	syncOnce(t, m)
	rng := rand.New(rand.NewPCG(31, 17))
	for _, k := range []int{0, 1, 5, 20} {
		live := e.fake.Conversations()
		closed := deleteClosed(t, e.fake, rng, k)
		e.clock.Advance(11 * time.Minute)
		st := syncOnce(t, m)
		pages := int(math.Ceil(float64(len(live)) / float64(helpscouttest.ConversationPageSize)))
		limit := 2
		if k > 0 {
			limit = min(pages+1, 2+k*(int(math.Ceil(math.Log2(float64(pages))))+2))
		}
		if st.DeletionWalkPages > limit {
			t.Errorf("%d deleted of %d: the walk read %d pages, want at most %d", k, len(live), st.DeletionWalkPages, limit)
		}
		if st.Removed != k {
			t.Errorf("%d deleted: removed %d", k, st.Removed)
		}
		for _, id := range closed[:k] {
			if _, _, err := e.db.Conversation(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("deleted conversation %d still mirrored: %v", id, err)
			}
		}
		t.Logf("%d of %d conversations deleted: the deletion walk read %d of %d pages", k, len(live), st.DeletionWalkPages, pages)
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// TestDeletionWalkSeesPastUnmirroredNewConversations: conversations created
// since the last poll are listed last but not stored; the walk must not
// take them for a sign that nothing vanished.
func TestDeletionWalkSeesPastUnmirroredNewConversations(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 32, Conversations: 400})
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	cs := e.fake.Conversations()
	slices.SortFunc(cs, func(a, b helpscouttest.Conversation) int { return a.CreatedAt.Compare(b.CreatedAt) })
	victim := cs[len(cs)/3]
	if err := e.fake.Delete(victim.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Minute)
	// Created after the poll, just before the deletion walk's first page:
	// the store has none of them.
	created := false
	e.log.setBefore(func(r *http.Request) {
		if r.URL.Query().Get("sortField") != "createdAt" || created {
			return
		}
		created = true
		for range 30 {
			if _, err := e.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: victim.MailboxID,
				CustomerID: victim.CustomerID}); err != nil {
				t.Error(err)
			}
		}
	})
	st := syncOnce(t, m)
	e.log.setBefore(nil)
	if !created {
		t.Fatal("the deletion walk never listed by creation time")
	}
	if _, _, err := e.db.Conversation(context.Background(), victim.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted conversation %d still mirrored: %v (walk read %d pages)", victim.ID, err, st.DeletionWalkPages)
	}
	t.Logf("one deletion behind 30 unmirrored new conversations: %d deletion-walk pages", st.DeletionWalkPages)
}

// BenchmarkDeletionWalk measures the deletion walk's request cost per
// reconcile on a mirror of 10,000 conversations (QW_BENCH_CONVERSATIONS
// changes the size), with 0, 1, 10 and 100 closed conversations deleted
// since the last reconcile: list pages read by the walk, and every Help
// Scout request of the reconcile's deletion walk including the re-reads
// of what vanished (one each).
func BenchmarkDeletionWalk(b *testing.B) {
	n := benchSize(10000)
	for _, k := range []int{0, 1, 10, 100} {
		b.Run(fmt.Sprintf("conversations=%d/deleted=%d", n, k), func(b *testing.B) {
			e := newEnv(b, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 41, Conversations: n})
			m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute, DirectoryEvery: 24 * time.Hour})
			syncOnce(b, m)
			rng := rand.New(rand.NewPCG(41, uint64(k)))
			var pages, requests int
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				deleteClosed(b, e.fake, rng, k)
				e.clock.Advance(11 * time.Minute)
				e.log.reset()
				b.StartTimer()
				st := syncOnce(b, m)
				b.StopTimer()
				if st.Removed != k {
					b.Fatalf("removed %d of %d deleted", st.Removed, k)
				}
				pages += st.DeletionWalkPages
				for _, u := range e.log.URLs() {
					if u.Query().Get("sortField") == "createdAt" || isConversationGet(u.Path) {
						requests++
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(pages)/float64(b.N), "pages/walk")
			b.ReportMetric(float64(requests)/float64(b.N), "requests/walk")
			b.ReportMetric(float64((n+24)/25), "pages/full-listing")
		})
	}
}

// deleteClosed deletes k closed conversations picked at random, without a
// webhook, and returns them.
func deleteClosed(tb testing.TB, fake *helpscouttest.Server, rng *rand.Rand, k int) []int64 {
	tb.Helper()
	var closed []int64
	for _, c := range fake.Conversations() {
		if c.Status == helpscouttest.StatusClosed {
			closed = append(closed, c.ID)
		}
	}
	rng.Shuffle(len(closed), func(i, j int) { closed[i], closed[j] = closed[j], closed[i] })
	for _, id := range closed[:k] {
		if err := fake.Delete(id); err != nil {
			tb.Fatal(err)
		}
	}
	return closed[:k]
}

// benchSize is QW_BENCH_CONVERSATIONS when set, def otherwise.
func benchSize(def int) int {
	if v, err := strconv.Atoi(os.Getenv("QW_BENCH_CONVERSATIONS")); err == nil && v > 0 {
		return v
	}
	return def
}
