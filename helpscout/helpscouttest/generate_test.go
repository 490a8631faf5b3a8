package helpscouttest_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

func seeded(t testing.TB, seed int64, n int) (*helpscouttest.Server, helpscouttest.Account) {
	t.Helper()
	s := helpscouttest.New(helpscouttest.Options{Clock: testkit.NewClock(t0).Now})
	t.Cleanup(func() { s.Close() })
	acc, err := s.Seed(helpscouttest.GenerateConfig{Seed: seed, Conversations: n})
	if err != nil {
		t.Fatal(err)
	}
	return s, acc
}

func TestSeedDeterministic(t *testing.T) {
	a, accA := seeded(t, 7, 150)
	b, accB := seeded(t, 7, 150)
	if diff := cmp.Diff(accA, accB); diff != "" {
		t.Errorf("accounts differ (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.Conversations(), b.Conversations()); diff != "" {
		t.Errorf("conversations differ (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.Users(), b.Users()); diff != "" {
		t.Errorf("users differ (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.Teams(), b.Teams()); diff != "" {
		t.Errorf("teams differ (-a +b):\n%s", diff)
	}
	c, _ := seeded(t, 8, 150)
	if cmp.Equal(a.Conversations(), c.Conversations()) {
		t.Error("seeds 7 and 8 generated the same conversations")
	}
}

func TestSeedVariety(t *testing.T) {
	s, acc := seeded(t, 3, 400)
	const span = 21 * 24 * time.Hour
	if len(acc.Mailboxes) != 3 || len(acc.Agents) != 10 || len(acc.Teams) != 3 || len(acc.Conversations) != 400 {
		t.Fatalf("account sizes: %d mailboxes %d agents %d teams %d conversations",
			len(acc.Mailboxes), len(acc.Agents), len(acc.Teams), len(acc.Conversations))
	}
	away := 0
	for _, u := range s.Users() {
		if u.Status == "away" {
			away++
		}
	}
	counts := map[string]int{}
	for _, c := range s.Conversations() {
		counts["status "+c.Status]++
		var lastFacing *helpscouttest.Thread
		for i, th := range c.Threads {
			if i > 0 && th.CreatedAt.Before(c.Threads[i-1].CreatedAt) {
				t.Errorf("conversation %d: threads out of order", c.ID)
			}
			if th.CreatedAt.After(t0) || th.CreatedAt.Before(t0.Add(-span)) {
				t.Errorf("conversation %d: thread at %v outside the span", c.ID, th.CreatedAt)
			}
			if th.State == "published" && th.Type != "note" && th.Type != "lineitem" {
				lastFacing = &c.Threads[i]
			}
			switch {
			case th.State == "draft":
				counts["draft"]++
			case th.Type == "note":
				counts["note"]++
			case th.Type == "lineitem":
				counts["lineitem"]++
			}
		}
		if (c.Status == "closed") != !c.ClosedAt.IsZero() || (c.Status == "closed" && c.ClosedBy == 0) {
			t.Errorf("conversation %d: status %s closedAt %v closedBy %d", c.ID, c.Status, c.ClosedAt, c.ClosedBy)
		}
		if len(c.Threads) >= helpscouttest.MaxThreads {
			t.Errorf("conversation %d has %d threads", c.ID, len(c.Threads))
		}
		if c.Status == "active" {
			switch {
			case c.AssigneeID == 0:
				counts["active unassigned"]++
			case lastFacing.CreatedByType == "customer":
				counts["active waiting on agent"]++
			default:
				counts["active waiting on customer"]++
			}
		}
		if c.CreatedByType == "user" {
			counts["agent-started"]++
		}
		counts["type "+c.Type]++
		if c.Type == "chat" && len(c.Threads) > helpscouttest.DefaultChatEmbedThreadLimit {
			counts["long chat"]++
		}
		if c.ID > 1<<31 {
			counts["id above 2^31"]++
		}
	}
	for _, k := range []string{
		"status active", "status pending", "status closed", "status spam",
		"active unassigned", "active waiting on agent", "active waiting on customer",
		"draft", "note", "lineitem", "agent-started", "type chat", "type phone", "long chat", "id above 2^31",
	} {
		if counts[k] == 0 {
			t.Errorf("no %q among generated conversations: %v", k, counts)
		}
	}
	if away == 0 {
		t.Error("no away agents")
	}
}

// TestSeedServedByAPI pages through the generated account and checks that
// the API serves exactly the snapshot's conversations.
func TestSeedServedByAPI(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	if _, err := f.srv.Seed(helpscouttest.GenerateConfig{Seed: 1, Conversations: 120}); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for page := 1; ; page++ {
		m := f.do(t, "GET", fmt.Sprintf("/v2/conversations?status=all&embed=threads&sortField=modifiedAt&sortOrder=asc&page=%d", page), "").json(t)
		items := embedded(t, m, "conversations")
		if items == nil {
			break
		}
		got = append(got, ids(t, items)...)
	}
	var want []int64
	for _, c := range f.srv.Conversations() {
		want = append(want, c.ID)
	}
	slices.Sort(got)
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("served ids (-got +want):\n%s", diff)
	}
}

func BenchmarkListConversations(b *testing.B) {
	s, _ := seeded(b, 1, 500)
	tok := s.IssueToken()
	for _, q := range []string{"status=all", "status=all&embed=threads&sortField=modifiedAt&sortOrder=asc"} {
		b.Run(q, func(b *testing.B) {
			var bytes int
			for b.Loop() {
				req, _ := http.NewRequest("GET", "/v2/conversations?"+q, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				w := &countingWriter{h: http.Header{}}
				s.ServeHTTP(w, req)
				if w.code != 0 && w.code != 200 {
					b.Fatalf("code %d", w.code)
				}
				bytes = w.n
			}
			b.ReportMetric(float64(bytes), "bytes/page")
		})
	}
}

func BenchmarkSeed500(b *testing.B) {
	for b.Loop() {
		s := helpscouttest.New(helpscouttest.Options{Clock: testkit.NewClock(t0).Now})
		if _, err := s.Seed(helpscouttest.GenerateConfig{Seed: 1, Conversations: 500}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

type countingWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(c int)   { w.code = c }
func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return io.Discard.Write(p)
}
