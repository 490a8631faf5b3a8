package helpscouttest_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

func TestGetConversation(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	c := f.conv(t, helpscouttest.NewConversation{Subject: "Invoice shows wrong VAT", Tags: []string{"billing"}})

	r := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d", c.ID), "")
	if r.code != 200 {
		t.Fatalf("code = %d: %s", r.code, r.body)
	}
	if got := r.header.Get("Content-Type"); got != "application/hal+json" {
		t.Errorf("Content-Type = %q", got)
	}
	if r.header.Get("Correlation-Id") == "" {
		t.Error("no Correlation-Id")
	}
	m := r.json(t)
	for _, absent := range []string{"assignee", "closedAt", "_embedded", "modifiedAt"} {
		if _, ok := m[absent]; ok {
			t.Errorf("key %q present on an open, unassigned conversation", absent)
		}
	}
	if got := m["closedBy"]; got != float64(0) {
		t.Errorf("closedBy = %v, want 0", got)
	}
	if got := m["threads"]; got != float64(1) {
		t.Errorf("threads = %v, want 1", got)
	}
	cb := m["createdBy"].(map[string]any)
	if cb["type"] != "customer" || num(cb["id"]) != f.customer {
		t.Errorf("createdBy = %v", cb)
	}
	links := m["_links"].(map[string]any)
	for _, k := range []string{"closedBy", "createdByCustomer", "mailbox", "primaryCustomer", "self", "threads", "web"} {
		if _, ok := links[k]; !ok {
			t.Errorf("_links.%s missing", k)
		}
	}
	if got, want := links["web"].(map[string]any)["href"], fmt.Sprintf("https://secure.helpscout.net/conversation/%d/%d", c.ID, c.Number); got != want {
		t.Errorf("web link = %v, want %v", got, want)
	}
	if got := m["customerWaitingSince"].(map[string]any)["time"]; got != "2026-03-02T09:00:00Z" {
		t.Errorf("customerWaitingSince.time = %v", got)
	}
	if got := m["tags"].([]any)[0].(map[string]any)["tag"]; got != "billing" {
		t.Errorf("tags = %v", m["tags"])
	}

	t.Run("embed threads", func(t *testing.T) {
		m := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d?embed=threads", c.ID), "").json(t)
		th := embedded(t, m, "threads")
		if len(th) != 1 {
			t.Fatalf("embedded threads = %d, want 1", len(th))
		}
		first := th[0].(map[string]any)
		if first["type"] != "customer" || first["status"] != "active" || first["state"] != "published" {
			t.Errorf("thread = %v", first)
		}
		if _, ok := first["assignedTo"]; ok {
			t.Error("assignedTo present on a thread of an unassigned conversation")
		}
	})
	t.Run("unknown", func(t *testing.T) {
		r := f.do(t, "GET", "/v2/conversations/12345", "")
		if r.code != 404 {
			t.Fatalf("code = %d, want 404", r.code)
		}
		if m := r.json(t); m["logRef"] == nil || m["message"] == nil {
			t.Errorf("404 body not in the error shape: %s", r.body)
		}
	})
}

func TestPatchConversation(t *testing.T) {
	tests := []struct {
		name      string
		body      func(f *fixture) string
		wantCode  int
		wantPath  string // validation error path
		check     func(t *testing.T, f *fixture, c helpscouttest.Conversation)
		wantEvent string
	}{
		{
			name:     "assign",
			body:     func(f *fixture) string { return fmt.Sprintf(`{"op":"replace","path":"/assignTo","value":%d}`, f.ana) },
			wantCode: 204,
			check: func(t *testing.T, f *fixture, c helpscouttest.Conversation) {
				if c.AssigneeID != f.ana {
					t.Errorf("assignee = %d, want %d", c.AssigneeID, f.ana)
				}
				last := c.Threads[len(c.Threads)-1]
				if last.Type != "lineitem" || last.AssignedToID != f.ana || last.CreatedByID != f.owner {
					t.Errorf("last thread = %+v, want an assignment lineitem by the owner", last)
				}
				if !c.UserUpdatedAt.Equal(t0.Add(time.Hour)) {
					t.Errorf("userUpdatedAt = %v, want bumped to %v", c.UserUpdatedAt, t0.Add(time.Hour))
				}
			},
		},
		{
			name:     "unassign",
			body:     func(*fixture) string { return `{"op":"remove","path":"/assignTo"}` },
			wantCode: 204,
			check: func(t *testing.T, f *fixture, c helpscouttest.Conversation) {
				if c.AssigneeID != 0 {
					t.Errorf("assignee = %d, want 0", c.AssigneeID)
				}
			},
		},
		{
			name:     "close",
			body:     func(*fixture) string { return `{"op":"replace","path":"/status","value":"closed"}` },
			wantCode: 204,
			check: func(t *testing.T, f *fixture, c helpscouttest.Conversation) {
				if c.Status != "closed" || c.ClosedBy != f.owner || !c.ClosedAt.Equal(t0.Add(time.Hour)) {
					t.Errorf("status %s closedBy %d closedAt %v", c.Status, c.ClosedBy, c.ClosedAt)
				}
				if last := c.Threads[len(c.Threads)-1]; last.Type != "lineitem" || last.Status != "closed" {
					t.Errorf("last thread = %+v, want a closed lineitem", last)
				}
			},
		},
		{
			name:     "subject",
			body:     func(*fixture) string { return `{"op":"replace","path":"/subject","value":"New subject"}` },
			wantCode: 204,
			check: func(t *testing.T, f *fixture, c helpscouttest.Conversation) {
				if c.Subject != "New subject" || !c.UserUpdatedAt.Equal(t0.Add(time.Hour)) {
					t.Errorf("subject %q userUpdatedAt %v", c.Subject, c.UserUpdatedAt)
				}
			},
		},
		{
			name: "move",
			body: func(f *fixture) string {
				return fmt.Sprintf(`{"op":"move","path":"/mailboxId","value":%d}`, f.mailbox2)
			},
			wantCode: 204,
			check: func(t *testing.T, f *fixture, c helpscouttest.Conversation) {
				if c.MailboxID != f.mailbox2 {
					t.Errorf("mailbox = %d, want %d", c.MailboxID, f.mailbox2)
				}
			},
		},
		{name: "unknown user", wantCode: 400, wantPath: "assignTo",
			body: func(*fixture) string { return `{"op":"replace","path":"/assignTo","value":424242}` }},
		{name: "team id", wantCode: 400, wantPath: "assignTo",
			body: func(f *fixture) string { return fmt.Sprintf(`{"op":"replace","path":"/assignTo","value":%d}`, f.team) }},
		{name: "string user id", wantCode: 400, wantPath: "value",
			body: func(f *fixture) string { return fmt.Sprintf(`{"op":"replace","path":"/assignTo","value":"%d"}`, f.ana) }},
		{name: "bad status", wantCode: 400, wantPath: "status",
			body: func(*fixture) string { return `{"op":"replace","path":"/status","value":"Wrong"}` }},
		{name: "open is not settable", wantCode: 400, wantPath: "status",
			body: func(*fixture) string { return `{"op":"replace","path":"/status","value":"open"}` }},
		{name: "empty subject", wantCode: 400, wantPath: "subject",
			body: func(*fixture) string { return `{"op":"replace","path":"/subject","value":""}` }},
		{name: "array of operations", wantCode: 400, wantPath: "",
			body: func(*fixture) string { return `[{"op":"replace","path":"/status","value":"closed"}]` }},
		{name: "unknown op", wantCode: 400, wantPath: "op",
			body: func(*fixture) string { return `{"op":"add","path":"/status","value":"closed"}` }},
		{name: "unsupported path", wantCode: 400, wantPath: "path",
			body: func(*fixture) string { return `{"op":"replace","path":"/draft","value":true}` }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, helpscouttest.Options{})
			c := f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ben})
			f.clock.Advance(time.Hour)
			body := tt.body(f)
			r := f.do(t, "PATCH", fmt.Sprintf("/v2/conversations/%d", c.ID), body)
			if r.code != tt.wantCode {
				t.Fatalf("code = %d, want %d: %s", r.code, tt.wantCode, r.body)
			}
			got, _ := f.srv.Conversation(c.ID)
			if tt.wantCode == 400 {
				if ct := r.header.Get("Content-Type"); ct != "application/vnd.error+json" {
					t.Errorf("Content-Type = %q", ct)
				}
				m := r.json(t)
				errs := embedded(t, m, "errors")
				if m["logRef"] == nil || len(errs) != 1 {
					t.Fatalf("validation body = %s", r.body)
				}
				if p := errs[0].(map[string]any)["path"]; p != tt.wantPath {
					t.Errorf("error path = %v, want %q", p, tt.wantPath)
				}
				if diff := cmp.Diff(got, c); diff != "" {
					t.Errorf("rejected PATCH changed the conversation (-got +want):\n%s", diff)
				}
			} else {
				tt.check(t, f, got)
			}
			patches := f.srv.Patches()
			if len(patches) != 1 || patches[0].ConversationID != c.ID || patches[0].StatusCode != tt.wantCode {
				t.Errorf("Patches() = %+v", patches)
			}
		})
	}
}

func TestPatchIsNoopWhenUnchanged(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	c := f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana})
	r := f.do(t, "PATCH", fmt.Sprintf("/v2/conversations/%d", c.ID), fmt.Sprintf(`{"op":"replace","path":"/assignTo","value":%d}`, f.ana))
	if r.code != 204 {
		t.Fatalf("code = %d", r.code)
	}
	got, _ := f.srv.Conversation(c.ID)
	if len(got.Threads) != 1 {
		t.Errorf("threads = %d, want 1 (no lineitem for a no-op)", len(got.Threads))
	}
}

func TestReopenKeepsClosedByDropsClosedAt(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	c := f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana})
	if err := f.srv.SetStatus(c.ID, f.ana, "closed", time.Time{}); err != nil {
		t.Fatal(err)
	}
	m := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d", c.ID), "").json(t)
	if m["closedAt"] != "2026-03-02T09:00:00Z" || num(m["closedBy"]) != f.ana {
		t.Errorf("closed: closedAt %v closedBy %v", m["closedAt"], m["closedBy"])
	}
	if _, err := f.srv.AddCustomerThread(c.ID, helpscouttest.ThreadInput{Body: "again"}); err != nil {
		t.Fatal(err)
	}
	m = f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d", c.ID), "").json(t)
	if _, ok := m["closedAt"]; ok || m["status"] != "active" || num(m["closedBy"]) != f.ana {
		t.Errorf("reopened: status %v closedAt %v closedBy %v", m["status"], m["closedAt"], m["closedBy"])
	}
}

func TestCreateNote(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	c := f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana})
	path := fmt.Sprintf("/v2/conversations/%d/notes", c.ID)

	r := f.do(t, "POST", path, fmt.Sprintf(`{"text":"Reassigned by queuewrangler","user":%d,"status":"pending","imported":true}`, f.ben))
	if r.code != 201 {
		t.Fatalf("code = %d: %s", r.code, r.body)
	}
	rid, err := strconv.ParseInt(r.header.Get("Resource-ID"), 10, 64)
	if err != nil {
		t.Fatalf("Resource-ID %q: %v", r.header.Get("Resource-ID"), err)
	}
	if want := fmt.Sprintf("%s/v2/conversations/%d/threads/%d", f.ts.URL, c.ID, rid); r.header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", r.header.Get("Location"), want)
	}
	got, _ := f.srv.Conversation(c.ID)
	note := got.Threads[len(got.Threads)-1]
	want := helpscouttest.Thread{
		ID: rid, Type: "note", State: "published", Status: "pending", ActionType: "default",
		Body: "Reassigned by queuewrangler", SourceType: "api", SourceVia: "user", CreatedByType: "user",
		CreatedByID: f.ben, CustomerID: f.customer, AssignedToID: f.ana, CreatedAt: t0, Imported: true,
	}
	if diff := cmp.Diff(note, want); diff != "" {
		t.Errorf("note thread (-got +want):\n%s", diff)
	}
	if got.Status != "pending" {
		t.Errorf("status = %s, want pending", got.Status)
	}
	notes := f.srv.NotesReceived()
	if len(notes) != 1 || notes[0].ThreadID != rid || notes[0].Text != "Reassigned by queuewrangler" || notes[0].User != f.ben {
		t.Errorf("NotesReceived = %+v", notes)
	}

	t.Run("default user is the token owner", func(t *testing.T) {
		r := f.do(t, "POST", path, `{"text":"hello"}`)
		if r.code != 201 {
			t.Fatalf("code %d", r.code)
		}
		got, _ := f.srv.Conversation(c.ID)
		if by := got.Threads[len(got.Threads)-1].CreatedByID; by != f.owner {
			t.Errorf("createdBy = %d, want owner %d", by, f.owner)
		}
	})
	for _, tt := range []struct{ name, body, path string }{
		{"empty text", `{"text":""}`, "text"},
		{"unknown user", `{"text":"x","user":999999}`, "user"},
		{"bad status", `{"text":"x","status":"gone"}`, "status"},
		{"createdAt needs imported", `{"text":"x","createdAt":"2026-03-01T00:00:00Z"}`, "createdAt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "POST", path, tt.body)
			if r.code != 400 {
				t.Fatalf("code = %d, want 400", r.code)
			}
			if p := embedded(t, r.json(t), "errors")[0].(map[string]any)["path"]; p != tt.path {
				t.Errorf("path = %v, want %s", p, tt.path)
			}
		})
	}
	t.Run("412 at the thread limit", func(t *testing.T) {
		c2 := f.conv(t, helpscouttest.NewConversation{})
		for range helpscouttest.MaxThreads - 1 {
			if _, err := f.srv.AddNote(c2.ID, helpscouttest.ThreadInput{Body: "n"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.do(t, "POST", fmt.Sprintf("/v2/conversations/%d/notes", c2.ID), `{"text":"one too many"}`).code; got != http.StatusPreconditionFailed {
			t.Errorf("code = %d, want 412", got)
		}
	})
}

func TestMergedAndDeleted(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	from := f.conv(t, helpscouttest.NewConversation{Subject: "old"})
	into := f.conv(t, helpscouttest.NewConversation{Subject: "new"})
	gone := f.conv(t, helpscouttest.NewConversation{Subject: "gone"})
	if err := f.srv.Merge(from.ID, into.ID, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}

	r := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d?embed=threads", from.ID), "")
	if r.code != http.StatusMovedPermanently {
		t.Fatalf("GET merged = %d, want 301", r.code)
	}
	if want := fmt.Sprintf("%s/v2/conversations/%d?embed=threads", f.ts.URL, into.ID); r.header.Get("Location") != want {
		t.Errorf("Location = %q, want %q", r.header.Get("Location"), want)
	}
	merged, _ := f.srv.Conversation(into.ID)
	if len(merged.Threads) != 3 { // both customer threads and the merge lineitem
		t.Errorf("survivor threads = %d, want 3", len(merged.Threads))
	}
	for _, tt := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/v2/conversations/%d/threads", from.ID), ""},
		{"PATCH", fmt.Sprintf("/v2/conversations/%d", from.ID), `{"op":"replace","path":"/status","value":"closed"}`},
		{"POST", fmt.Sprintf("/v2/conversations/%d/notes", from.ID), `{"text":"x"}`},
		{"GET", fmt.Sprintf("/v2/conversations/%d", gone.ID), ""},
		{"GET", fmt.Sprintf("/v2/conversations/%d/threads", gone.ID), ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			if got := f.do(t, tt.method, tt.path, tt.body).code; got != 404 {
				t.Errorf("code = %d, want 404", got)
			}
		})
	}
	page := f.do(t, "GET", "/v2/conversations?status=all", "").json(t)
	if got, want := ids(t, embedded(t, page, "conversations")), []int64{into.ID}; !slices.Equal(got, want) {
		t.Errorf("listed = %v, want %v", got, want)
	}
	if got := len(f.srv.Conversations()); got != 1 {
		t.Errorf("Conversations() = %d, want 1 live", got)
	}
}

func TestListConversationFilters(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	active := f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana, Tags: []string{"vip"}})
	f.clock.Advance(time.Minute)
	pending := f.conv(t, helpscouttest.NewConversation{Status: "pending", MailboxID: f.mailbox2})
	f.clock.Advance(time.Minute)
	closed := f.conv(t, helpscouttest.NewConversation{Status: "closed", AssigneeID: f.ana})
	f.clock.Advance(time.Minute)
	spam := f.conv(t, helpscouttest.NewConversation{Status: "spam"})

	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{active.ID}},
		{"?status=all", []int64{spam.ID, closed.ID, pending.ID, active.ID}},
		{"?status=all&sortOrder=asc", []int64{active.ID, pending.ID, closed.ID, spam.ID}},
		{"?status=open", []int64{pending.ID, active.ID}},
		{"?status=pending", []int64{pending.ID}},
		{"?status=closed", []int64{closed.ID}},
		{"?status=spam", []int64{spam.ID}},
		{fmt.Sprintf("?status=all&mailbox=%d", f.mailbox2), []int64{pending.ID}},
		{fmt.Sprintf("?status=all&mailbox=%d,%d", f.mailbox, f.mailbox2), []int64{spam.ID, closed.ID, pending.ID, active.ID}},
		{fmt.Sprintf("?status=all&assigned_to=%d", f.ana), []int64{closed.ID, active.ID}},
		{"?status=all&tag=vip,nothing", []int64{active.ID}},
		{fmt.Sprintf("?status=all&number=%d", closed.Number), []int64{closed.ID}},
		{"?status=all&sortField=number&sortOrder=asc", []int64{active.ID, pending.ID, closed.ID, spam.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.do(t, "GET", "/v2/conversations"+tt.query, "")
			if r.code != 200 {
				t.Fatalf("code %d: %s", r.code, r.body)
			}
			if got := ids(t, embedded(t, r.json(t), "conversations")); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	for _, q := range []string{
		"status=bogus", "sortField=bogus", "sortOrder=up", "embed=customer", "page=0", "page=x",
		"mailbox=abc", "modifiedSince=2026-03-02T09:00:00.123Z", "modifiedSince=yesterday", "query=(number:1)",
	} {
		t.Run("invalid "+q, func(t *testing.T) {
			r := f.do(t, "GET", "/v2/conversations?"+q, "")
			if r.code != 400 {
				t.Fatalf("code = %d, want 400", r.code)
			}
			if errs := embedded(t, r.json(t), "errors"); len(errs) == 0 {
				t.Errorf("no _embedded.errors in %s", r.body)
			}
		})
	}
}

func TestModifiedSince(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	a := f.conv(t, helpscouttest.NewConversation{})
	f.clock.Advance(10 * time.Minute)
	b := f.conv(t, helpscouttest.NewConversation{})
	f.clock.Advance(10 * time.Minute)
	// A note on a makes it modified again, without changing its createdAt.
	if _, err := f.srv.AddNote(a.ID, helpscouttest.ThreadInput{Body: "x"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		since string
		want  []int64
	}{
		{"2026-03-02T08:59:59Z", []int64{b.ID, a.ID}},
		{"2026-03-02T09:10:00Z", []int64{b.ID, a.ID}}, // inclusive boundary
		{"2026-03-02T09:10:01Z", []int64{a.ID}},
		{"2026-03-02T09:20:00Z", []int64{a.ID}},
		{"2026-03-02T09:20:01Z", nil},
	}
	for _, tt := range tests {
		t.Run(tt.since, func(t *testing.T) {
			r := f.do(t, "GET", "/v2/conversations?status=all&sortField=modifiedAt&sortOrder=asc&modifiedSince="+tt.since, "")
			if r.code != 200 {
				t.Fatalf("code %d: %s", r.code, r.body)
			}
			m := r.json(t)
			if got := ids(t, embedded(t, m, "conversations")); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPaginationStable(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	// 60 conversations created in the same second: every sort key ties, so
	// only the id tie-break keeps pages disjoint.
	var all []int64
	for range 60 {
		all = append(all, f.conv(t, helpscouttest.NewConversation{}).ID)
	}
	for _, order := range []string{"asc", "desc"} {
		for _, field := range []string{"createdAt", "modifiedAt", "waitingSince", "status"} {
			t.Run(field+" "+order, func(t *testing.T) {
				var seen []int64
				for page := 1; page <= 3; page++ {
					q := fmt.Sprintf("/v2/conversations?status=all&sortField=%s&sortOrder=%s&page=%d", field, order, page)
					m := f.do(t, "GET", q, "").json(t)
					items := embedded(t, m, "conversations")
					if want := []int{25, 25, 10}[page-1]; len(items) != want {
						t.Errorf("page %d has %d items, want %d", page, len(items), want)
					}
					seen = append(seen, ids(t, items)...)
					pi := m["page"].(map[string]any)
					want := map[string]any{"size": 25.0, "totalElements": 60.0, "totalPages": 3.0, "number": float64(page)}
					if diff := cmp.Diff(pi, want); diff != "" {
						t.Errorf("page object (-got +want):\n%s", diff)
					}
					links := m["_links"].(map[string]any)
					_, hasNext := links["next"]
					_, hasPrev := links["previous"]
					if hasNext != (page < 3) || hasPrev != (page > 1) {
						t.Errorf("page %d: next %v previous %v", page, hasNext, hasPrev)
					}
				}
				sorted := slices.Clone(seen)
				slices.Sort(sorted)
				if !slices.Equal(sorted, slices.Sorted(slices.Values(all))) {
					t.Errorf("pages did not cover every conversation exactly once: %v", seen)
				}
			})
		}
	}
	t.Run("next link keeps the query", func(t *testing.T) {
		m := f.do(t, "GET", "/v2/conversations?status=all&sortOrder=asc", "").json(t)
		next := m["_links"].(map[string]any)["next"].(map[string]any)["href"].(string)
		if !strings.Contains(next, "status=all") || !strings.Contains(next, "sortOrder=asc") || !strings.Contains(next, "page=2") {
			t.Errorf("next = %s", next)
		}
		if !strings.HasPrefix(next, f.ts.URL) {
			t.Errorf("next = %s, want it on the fake's host", next)
		}
	})
	t.Run("past the end omits _embedded", func(t *testing.T) {
		r := f.do(t, "GET", "/v2/conversations?status=all&page=4", "")
		m := r.json(t)
		if _, ok := m["_embedded"]; ok {
			t.Errorf("_embedded present on an empty page: %s", r.body)
		}
		if m["page"].(map[string]any)["number"] != 4.0 {
			t.Errorf("page = %v", m["page"])
		}
	})
}

func TestEmptyPage(t *testing.T) {
	for _, tt := range []struct {
		name          string
		emptyEmbedded bool
	}{{"omitted", false}, {"kept", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, helpscouttest.Options{EmptyEmbedded: tt.emptyEmbedded})
			m := f.do(t, "GET", "/v2/conversations", "").json(t)
			_, ok := m["_embedded"]
			if ok != tt.emptyEmbedded {
				t.Errorf("_embedded present = %v, want %v", ok, tt.emptyEmbedded)
			}
			want := map[string]any{"size": 25.0, "totalElements": 0.0, "totalPages": 0.0, "number": 1.0}
			if diff := cmp.Diff(m["page"], any(want)); diff != "" {
				t.Errorf("page (-got +want):\n%s", diff)
			}
		})
	}
}

func TestThreadsAndEmbedLimits(t *testing.T) {
	f := setup(t, helpscouttest.Options{EmbedThreadLimit: 4})
	c := f.conv(t, helpscouttest.NewConversation{})
	for i := range 59 {
		f.clock.Advance(time.Minute)
		in := helpscouttest.ThreadInput{UserID: f.ana, Body: fmt.Sprintf("reply %d", i)}
		var err error
		if i%2 == 0 {
			_, err = f.srv.AddAgentReply(c.ID, in)
		} else {
			_, err = f.srv.AddCustomerThread(c.ID, in)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	snap, _ := f.srv.Conversation(c.ID)

	t.Run("thread list newest first, pages of 50", func(t *testing.T) {
		var got []int64
		for page := 1; page <= 2; page++ {
			m := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d/threads/?page=%d", c.ID, page), "").json(t)
			got = append(got, ids(t, embedded(t, m, "threads"))...)
			if m["page"].(map[string]any)["size"] != 50.0 {
				t.Errorf("size = %v", m["page"])
			}
		}
		var want []int64
		for i := len(snap.Threads) - 1; i >= 0; i-- {
			want = append(want, snap.Threads[i].ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("threads = %v, want %v", got, want)
		}
	})
	t.Run("embed limit", func(t *testing.T) {
		m := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d?embed=threads", c.ID), "").json(t)
		if got := len(embedded(t, m, "threads")); got != 4 {
			t.Errorf("embedded = %d, want 4", got)
		}
		if got := m["threads"]; got != 60.0 {
			t.Errorf("threads = %v, want 60", got)
		}
	})
	t.Run("chat truncated by default", func(t *testing.T) {
		g := setup(t, helpscouttest.Options{})
		chat := g.conv(t, helpscouttest.NewConversation{Type: "chat"})
		email := g.conv(t, helpscouttest.NewConversation{})
		for range 9 {
			for _, id := range []int64{chat.ID, email.ID} {
				if _, err := g.srv.AddCustomerThread(id, helpscouttest.ThreadInput{Body: "hi"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		m := g.do(t, "GET", "/v2/conversations?embed=threads", "").json(t)
		for _, it := range embedded(t, m, "conversations") {
			c := it.(map[string]any)
			emb := embedded(t, c, "threads")
			want := 10
			if c["type"] == "chat" {
				want = helpscouttest.DefaultChatEmbedThreadLimit
				if tt := emb[0].(map[string]any)["type"]; tt != "chat" {
					t.Errorf("chat thread type = %v", tt)
				}
			}
			if len(emb) != want || c["threads"] != 10.0 {
				t.Errorf("%v conversation: embedded %d of %v, want %d of 10", c["type"], len(emb), c["threads"], want)
			}
		}
	})
}

func TestIDsAboveInt32(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	var maxConv, maxThread int64
	for range 60 {
		c := f.conv(t, helpscouttest.NewConversation{})
		maxConv = max(maxConv, c.ID)
		maxThread = max(maxThread, c.Threads[0].ID)
	}
	if maxConv <= 1<<31 || maxThread <= 1<<32 {
		t.Errorf("max conversation id %d, thread id %d: want above 2^31 and 2^32", maxConv, maxThread)
	}
}

// TestRemoveMailbox: a mailbox taken away (deleted, or the API user's
// access to it gone) leaves GET /v2/mailboxes, answers 404 in Help Scout's
// error shape for itself and for a conversation listing that names it,
// alone or beside another, and takes its conversations with it, without a
// webhook; the other mailbox's listing is unchanged.
func TestRemoveMailbox(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	kept := f.conv(t, helpscouttest.NewConversation{})
	gone := f.conv(t, helpscouttest.NewConversation{MailboxID: f.mailbox2})
	if _, err := f.srv.AddUser(helpscouttest.User{FirstName: "Bea", Mailboxes: []int64{f.mailbox2}}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.RemoveMailbox(f.mailbox2); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.RemoveMailbox(f.mailbox2); !errors.Is(err, helpscouttest.ErrNotFound) {
		t.Errorf("RemoveMailbox of a removed mailbox: %v, want ErrNotFound", err)
	}
	page := f.do(t, "GET", "/v2/mailboxes", "").json(t)
	if got, want := ids(t, embedded(t, page, "mailboxes")), []int64{f.mailbox}; !slices.Equal(got, want) {
		t.Errorf("GET /v2/mailboxes lists %v, want %v", got, want)
	}
	for _, path := range []string{
		fmt.Sprintf("/v2/mailboxes/%d", f.mailbox2),
		fmt.Sprintf("/v2/mailboxes/%d/folders", f.mailbox2),
		fmt.Sprintf("/v2/conversations?status=all&mailbox=%d", f.mailbox2),
		fmt.Sprintf("/v2/conversations?status=all&mailbox=%d,%d", f.mailbox, f.mailbox2),
		"/v2/conversations?status=all&mailbox=999999", // never had: the same reading
		fmt.Sprintf("/v2/conversations/%d", gone.ID),
		fmt.Sprintf("/v2/conversations/%d/threads", gone.ID),
	} {
		r := f.do(t, "GET", path, "")
		if r.code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.code)
			continue
		}
		if m := r.json(t); m["logRef"] == nil || m["message"] == nil {
			t.Errorf("GET %s: body %s is not Help Scout's error shape", path, r.body)
		}
	}
	for _, q := range []string{"?status=all", fmt.Sprintf("?status=all&mailbox=%d", f.mailbox)} {
		r := f.do(t, "GET", "/v2/conversations"+q, "")
		if r.code != http.StatusOK {
			t.Fatalf("GET /v2/conversations%s = %d: %s", q, r.code, r.body)
		}
		if got, want := ids(t, embedded(t, r.json(t), "conversations")), []int64{kept.ID}; !slices.Equal(got, want) {
			t.Errorf("GET /v2/conversations%s lists %v, want %v", q, got, want)
		}
	}
	if c, _ := f.srv.Conversation(gone.ID); !c.Deleted {
		t.Errorf("conversation %d of the removed mailbox is not deleted", gone.ID)
	}
	for _, u := range f.srv.Users() {
		if slices.Contains(u.Mailboxes, f.mailbox2) {
			t.Errorf("user %d can still open the removed mailbox: %v", u.ID, u.Mailboxes)
		}
	}
}

// TestRevokeMailbox: a mailbox taken from the API user without being
// deleted answers 403 "Access denied" for itself, for a listing (of
// conversations or users) naming it and for each of its conversations,
// whatever the request; it leaves GET /v2/mailboxes and unfiltered
// listings, but its conversations stay, and GrantMailbox serves them
// again. A listing naming it beside a mailbox the account does not have
// answers 404, the same whatever the order.
func TestRevokeMailbox(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	kept := f.conv(t, helpscouttest.NewConversation{})
	hidden := f.conv(t, helpscouttest.NewConversation{MailboxID: f.mailbox2})
	if err := f.srv.RevokeMailbox(f.mailbox2); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.RevokeMailbox(f.mailbox2); !errors.Is(err, helpscouttest.ErrNotFound) {
		t.Errorf("RevokeMailbox of a revoked mailbox: %v, want ErrNotFound", err)
	}
	page := f.do(t, "GET", "/v2/mailboxes", "").json(t)
	if got, want := ids(t, embedded(t, page, "mailboxes")), []int64{f.mailbox}; !slices.Equal(got, want) {
		t.Errorf("GET /v2/mailboxes lists %v, want %v", got, want)
	}
	if got := f.srv.Mailboxes(); len(got) != 1 || got[0].ID != f.mailbox {
		t.Errorf("Mailboxes() = %+v, want only mailbox %d", got, f.mailbox)
	}
	for _, req := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/v2/mailboxes/%d", f.mailbox2), ""},
		{"GET", fmt.Sprintf("/v2/mailboxes/%d/folders", f.mailbox2), ""},
		{"GET", fmt.Sprintf("/v2/mailboxes/%d/routing", f.mailbox2), ""},
		{"GET", fmt.Sprintf("/v2/conversations?status=all&mailbox=%d", f.mailbox2), ""},
		{"GET", fmt.Sprintf("/v2/conversations?status=all&mailbox=%d,%d", f.mailbox, f.mailbox2), ""},
		{"GET", fmt.Sprintf("/v2/users?mailbox=%d", f.mailbox2), ""},
		{"GET", fmt.Sprintf("/v2/conversations/%d", hidden.ID), ""},
		{"GET", fmt.Sprintf("/v2/conversations/%d/threads", hidden.ID), ""},
		{"PATCH", fmt.Sprintf("/v2/conversations/%d", hidden.ID), `{"op":"replace","path":"/status","value":"closed"}`},
		{"POST", fmt.Sprintf("/v2/conversations/%d/notes", hidden.ID), `{"text":"x"}`},
	} {
		r := f.do(t, req.method, req.path, req.body)
		if r.code != http.StatusForbidden {
			t.Errorf("%s %s = %d, want 403", req.method, req.path, r.code)
			continue
		}
		if m := r.json(t); m["message"] != "Access denied" || m["logRef"] == nil {
			t.Errorf("%s %s: body %s is not Help Scout's access denied", req.method, req.path, r.body)
		}
	}
	for _, path := range []string{
		fmt.Sprintf("/v2/conversations?status=all&mailbox=%d,999999", f.mailbox2),
		fmt.Sprintf("/v2/conversations?status=all&mailbox=999999,%d", f.mailbox2),
		"/v2/users?mailbox=999999",
	} {
		if r := f.do(t, "GET", path, ""); r.code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.code)
		}
	}
	r := f.do(t, "GET", "/v2/conversations?status=all", "")
	if got, want := ids(t, embedded(t, r.json(t), "conversations")), []int64{kept.ID}; !slices.Equal(got, want) {
		t.Errorf("GET /v2/conversations?status=all lists %v, want %v", got, want)
	}
	if c, _ := f.srv.Conversation(hidden.ID); c.Deleted || c.Status != helpscouttest.StatusActive {
		t.Errorf("conversation %d of the revoked mailbox: deleted %v, status %s; want it kept as it was", hidden.ID, c.Deleted, c.Status)
	}

	if err := f.srv.GrantMailbox(f.mailbox2); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.GrantMailbox(f.mailbox2); !errors.Is(err, helpscouttest.ErrNotFound) {
		t.Errorf("GrantMailbox of a mailbox not revoked: %v, want ErrNotFound", err)
	}
	if r := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d", hidden.ID), ""); r.code != http.StatusOK {
		t.Errorf("GET conversation %d after GrantMailbox = %d, want 200", hidden.ID, r.code)
	}
	r = f.do(t, "GET", "/v2/conversations?status=all", "")
	if got, want := slices.Sorted(slices.Values(ids(t, embedded(t, r.json(t), "conversations")))), []int64{kept.ID, hidden.ID}; !slices.Equal(got, want) {
		t.Errorf("GET /v2/conversations?status=all after GrantMailbox lists %v, want %v", got, want)
	}
}
