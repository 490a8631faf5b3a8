package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// mirroredRow is the comparable part of a conversation: what the fake
// serves and the store keeps. (internal/mirror's tests hold the same
// comparison; test helpers cannot be shared across packages.)
type mirroredRow struct {
	ID, Number, MailboxID, AssigneeID, ClosedBy int64
	Status, Type                                string
	CreatedAt, UserUpdatedAt                    time.Time
	ThreadCount                                 int
	Tags                                        []string
	Threads                                     []mirroredThread
}

type mirroredThread struct {
	ID                                 int64
	Type, State, Status, CreatedByType string
	CreatedByID                        int64
	CreatedAt                          time.Time
}

func sortMirroredThreads(ts []mirroredThread) {
	slices.SortFunc(ts, func(a, b mirroredThread) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
}

// assertStoreMirrorsFake compares every conversation of the store with the
// fake, field by field, threads included, and reports the first
// differences.
func assertStoreMirrorsFake(t *testing.T, db *store.DB, fake *helpscouttest.Server) {
	t.Helper()
	ctx := context.Background()
	want := map[int64]mirroredRow{}
	for _, c := range fake.Conversations() {
		r := mirroredRow{ID: c.ID, Number: c.Number, MailboxID: c.MailboxID, AssigneeID: c.AssigneeID,
			ClosedBy: c.ClosedBy, Status: c.Status, Type: c.Type, CreatedAt: c.CreatedAt,
			UserUpdatedAt: c.UserUpdatedAt, ThreadCount: len(c.Threads)}
		for _, tg := range c.Tags {
			r.Tags = append(r.Tags, tg.Name)
		}
		slices.Sort(r.Tags)
		for _, th := range c.Threads {
			r.Threads = append(r.Threads, mirroredThread{th.ID, th.Type, th.State, th.Status, th.CreatedByType, th.CreatedByID, th.CreatedAt})
		}
		sortMirroredThreads(r.Threads)
		want[c.ID] = r
	}
	ids, err := db.ConversationIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	seen := map[int64]bool{}
	for _, id := range ids {
		seen[id] = true
		c, threads, err := db.Conversation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		w, ok := want[id]
		if !ok {
			problems = append(problems, fmt.Sprintf("conversation %d is stored but not served", id))
			continue
		}
		g := mirroredRow{ID: c.ID, Number: c.Number, MailboxID: c.MailboxID, AssigneeID: c.AssigneeID,
			ClosedBy: c.ClosedBy, Status: c.Status, Type: c.Type, CreatedAt: c.CreatedAt,
			UserUpdatedAt: c.UserUpdatedAt, ThreadCount: c.ThreadCount, Tags: c.Tags}
		for _, th := range threads {
			g.Threads = append(g.Threads, mirroredThread{th.ID, th.Type, th.State, th.Status, th.CreatedByType, th.CreatedByID, th.CreatedAt})
		}
		sortMirroredThreads(g.Threads)
		if d := cmp.Diff(g, w, cmpopts.EquateEmpty()); d != "" {
			problems = append(problems, fmt.Sprintf("conversation %d differs (-store +fake):\n%s", id, d))
		}
	}
	for id := range want {
		if !seen[id] {
			problems = append(problems, fmt.Sprintf("conversation %d is missing from the store", id))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		t.Errorf("store differs from the fake in %d of %d conversations:\n%s",
			len(problems), len(want), strings.Join(problems[:min(8, len(problems))], "\n"))
	}
}

// urlLog records the URL of every request a handler serves.
type urlLog struct {
	next http.Handler
	mu   sync.Mutex
	urls []*url.URL
}

func (l *urlLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.urls = append(l.urls, r.URL)
	l.mu.Unlock()
	l.next.ServeHTTP(w, r)
}

// since returns the URLs logged from index i on, and the new length.
func (l *urlLog) since(i int) ([]*url.URL, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.urls[i:]), len(l.urls)
}

func listPages(urls []*url.URL) []*url.URL {
	var out []*url.URL
	for _, u := range urls {
		if strings.TrimRight(u.Path, "/") == "/v2/conversations" {
			out = append(out, u)
		}
	}
	return out
}
