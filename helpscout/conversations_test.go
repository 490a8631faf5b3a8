package helpscout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConversationListOptionsQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts *ConversationListOptions
		want url.Values
	}{
		{name: "nil", opts: nil, want: url.Values{}},
		{name: "zero", opts: &ConversationListOptions{}, want: url.Values{}},
		{name: "page 1 is implicit", opts: &ConversationListOptions{Page: 1}, want: url.Values{}},
		{
			name: "sync recipe",
			opts: &ConversationListOptions{
				Status: StatusAll, SortField: SortModifiedAt, SortOrder: SortAsc, Embed: EmbedThreads,
				ModifiedSince: time.Date(2026, 3, 2, 10, 0, 3, 123_456_789, time.FixedZone("CET", 3600)), Page: 3,
			},
			want: url.Values{
				"status": {"all"}, "sortField": {"modifiedAt"}, "sortOrder": {"asc"}, "embed": {"threads"},
				"modifiedSince": {"2026-03-02T09:00:03Z"}, "page": {"3"},
			},
		},
		{
			name: "every filter",
			opts: &ConversationListOptions{
				Mailbox: []int64{123, 3000000567}, Folder: 993, Tag: []string{"red", "blue"}, AssignedTo: 1771,
				Number: 48211, Query: `(NOT email:"x@y.com")`,
				CustomFields: []CustomFieldFilter{{ID: 123, Value: "blue"}, {ID: 9, Value: "8518"}},
			},
			want: url.Values{
				"mailbox": {"123,3000000567"}, "folder": {"993"}, "tag": {"red,blue"}, "assigned_to": {"1771"},
				"number": {"48211"}, "query": {`(NOT email:"x@y.com")`}, "customFieldsByIds": {"123:blue,9:8518"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			mux.HandleFunc("/v2/conversations", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testQuery(t, r, tt.want)
				writeJSON(t, w, http.StatusOK, `{"page":{"size":25,"totalElements":0,"totalPages":0,"number":1}}`)
			})
			convs, resp, err := c.Conversations.List(context.Background(), tt.opts)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(convs) != 0 {
				t.Errorf("List returned %d conversations from an empty page", len(convs))
			}
			if diff := cmp.Diff(PageInfo{Size: 25, Number: 1}, resp.Page); diff != "" {
				t.Errorf("Page mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConversationsList(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/v2/conversations", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, http.MethodGet)
		writeJSON(t, w, http.StatusOK, halList("conversations", []string{conversationJSON, `{"id":2,"status":"closed","closedBy":12}`},
			PageInfo{Size: 25, TotalElements: 27, TotalPages: 2, Number: 1}))
	})
	got, resp, err := c.Conversations.List(context.Background(), &ConversationListOptions{Status: StatusAll})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []Conversation{wantConversation(t), {ID: 2, Status: "closed", ClosedBy: 12}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(PageInfo{Size: 25, TotalElements: 27, TotalPages: 2, Number: 1}, resp.Page); diff != "" {
		t.Errorf("Page mismatch (-want +got):\n%s", diff)
	}
}

func TestConversationsAll(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	p := newPager(t, "conversations", 25, idItems(60, `{"id":%d,"status":"active"}`))
	mux.Handle("/v2/conversations", p)

	opts := &ConversationListOptions{Status: StatusAll, Mailbox: []int64{85}, SortField: SortModifiedAt}
	var ids []int64
	for conv, err := range c.Conversations.All(context.Background(), opts) {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		ids = append(ids, conv.ID)
	}
	if len(ids) != 60 || ids[0] != 1 || ids[59] != 60 {
		t.Errorf("All yielded %d ids (%v...), want 1..60", len(ids), ids[:min(3, len(ids))])
	}
	if diff := cmp.Diff([]string{"", "2", "3"}, p.pagesAsked()); diff != "" {
		t.Errorf("pages asked mismatch (-want +got):\n%s", diff)
	}
	for i, q := range p.queries {
		if q.Get("status") != "all" || q.Get("mailbox") != "85" || q.Get("sortField") != "modifiedAt" {
			t.Errorf("request %d lost the caller's filters: %v", i+1, q)
		}
	}
	if opts.Page != 0 {
		t.Errorf("All changed the caller's options: Page = %d", opts.Page)
	}
}

func TestConversationsAllStartsAtOptsPage(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	p := newPager(t, "conversations", 25, idItems(60, `{"id":%d}`))
	mux.Handle("/v2/conversations", p)
	n := 0
	for _, err := range c.Conversations.All(context.Background(), &ConversationListOptions{Page: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 35 {
		t.Errorf("All from page 2 yielded %d, want 35", n)
	}
	if diff := cmp.Diff([]string{"2", "3"}, p.pagesAsked()); diff != "" {
		t.Errorf("pages asked mismatch (-want +got):\n%s", diff)
	}
}

func TestWalkStops(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		pages     map[int]string // page number -> body
		wantIDs   int
		wantPages int
	}{
		{
			name: "empty page without _embedded",
			pages: map[int]string{
				1: halList("conversations", []string{`{"id":1}`}, PageInfo{Size: 25, TotalElements: 30, TotalPages: 5, Number: 1}),
				2: halList("conversations", nil, PageInfo{Size: 25, TotalElements: 30, TotalPages: 5, Number: 2}),
			},
			wantIDs: 1, wantPages: 2,
		},
		{
			name: "server ignores the page parameter",
			pages: map[int]string{
				1: halList("conversations", []string{`{"id":1}`}, PageInfo{TotalPages: 3, Number: 1}),
				2: halList("conversations", []string{`{"id":1}`}, PageInfo{TotalPages: 3, Number: 1}),
				3: halList("conversations", []string{`{"id":1}`}, PageInfo{TotalPages: 3, Number: 1}),
			},
			wantIDs: 3, wantPages: 3,
		},
		{
			name: "docs example with number 0 and no totals",
			pages: map[int]string{
				1: halList("conversations", []string{`{"id":1}`, `{"id":2}`}, PageInfo{Size: 50}),
			},
			wantIDs: 2, wantPages: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			var asked atomic.Int32
			mux.HandleFunc("/v2/conversations", func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				n := 1
				fmt.Sscan(r.URL.Query().Get("page"), &n)
				body, ok := tt.pages[n]
				if !ok {
					t.Errorf("page %d asked for", n)
					http.NotFound(w, r)
					return
				}
				writeJSON(t, w, http.StatusOK, body)
			})
			n := 0
			for _, err := range c.Conversations.All(context.Background(), nil) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != tt.wantIDs || int(asked.Load()) != tt.wantPages {
				t.Errorf("walk yielded %d items in %d requests, want %d in %d", n, asked.Load(), tt.wantIDs, tt.wantPages)
			}
		})
	}
}

func TestConversationsAllBreakAndError(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	p := newPager(t, "conversations", 25, idItems(60, `{"id":%d}`))
	mux.Handle("/v2/conversations", p)
	for range c.Conversations.All(context.Background(), nil) {
		break
	}
	if got := len(p.pagesAsked()); got != 1 {
		t.Errorf("breaking after one item made %d requests, want 1", got)
	}

	c2, mux2 := setup(t)
	mux2.HandleFunc("/v2/conversations", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			writeJSON(t, w, http.StatusInternalServerError, `{"logRef":"boom","message":"Internal error"}`)
			return
		}
		writeJSON(t, w, http.StatusOK, halList("conversations", idItems(25, `{"id":%d}`), PageInfo{Size: 25, TotalPages: 3, Number: 1}))
	})
	var n, errs int
	var last error
	for _, err := range c2.Conversations.All(context.Background(), nil) {
		if err != nil {
			errs++
			last = err
			continue
		}
		n++
	}
	var er *ErrorResponse
	if n != 25 || errs != 1 || !errors.As(last, &er) || er.LogRef != "boom" {
		t.Errorf("walk = %d items, %d errors (last %v), want 25 items then one *ErrorResponse", n, errs, last)
	}
	if !strings.Contains(last.Error(), "page 2") {
		t.Errorf("error %q does not name the page", last)
	}
}

func TestConversationsGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		embed     bool
		wantQuery url.Values
	}{
		{name: "plain", wantQuery: url.Values{}},
		{name: "with threads", embed: true, wantQuery: url.Values{"embed": {"threads"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			mux.HandleFunc("/v2/conversations/2201934001", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testQuery(t, r, tt.wantQuery)
				writeJSON(t, w, http.StatusOK, conversationJSON)
			})
			got, resp, err := c.Conversations.Get(context.Background(), 2201934001, tt.embed)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if diff := cmp.Diff(wantConversation(t), *got); diff != "" {
				t.Errorf("Get mismatch (-want +got):\n%s", diff)
			}
			if resp.MergedFrom != 0 {
				t.Errorf("MergedFrom = %d for an unmerged conversation", resp.MergedFrom)
			}
		})
	}
}

func TestConversationsGetMerged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		location   map[string]string // request path -> Location of its 301
		wantID     int64
		wantErr    string
		wantLookup []string
	}{
		{
			name:       "absolute location",
			location:   map[string]string{"/v2/conversations/100": "https://api.helpscout.net/v2/conversations/200"},
			wantID:     200,
			wantLookup: []string{"/v2/conversations/100", "/v2/conversations/200"},
		},
		{
			name:       "foreign host is not contacted, only its id is used",
			location:   map[string]string{"/v2/conversations/100": "http://evil.example/v2/conversations/200?embed=threads"},
			wantID:     200,
			wantLookup: []string{"/v2/conversations/100", "/v2/conversations/200"},
		},
		{
			name: "merged twice",
			location: map[string]string{
				"/v2/conversations/100": "/v2/conversations/200",
				"/v2/conversations/200": "/v2/conversations/300/",
			},
			wantID:     300,
			wantLookup: []string{"/v2/conversations/100", "/v2/conversations/200", "/v2/conversations/300"},
		},
		{
			name: "redirect loop",
			location: map[string]string{
				"/v2/conversations/100": "/v2/conversations/200",
				"/v2/conversations/200": "/v2/conversations/100",
			},
			wantErr: "merge redirects",
		},
		{name: "no location", location: map[string]string{"/v2/conversations/100": ""}, wantErr: "without a Location"},
		{name: "location names no conversation", location: map[string]string{"/v2/conversations/100": "/v2/mailboxes/5"}, wantErr: "names no conversation"},
		{name: "self redirect", location: map[string]string{"/v2/conversations/100": "/v2/conversations/100"}, wantErr: "itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			var (
				mu      sync.Mutex
				lookups []string
			)
			mux.HandleFunc("/v2/conversations/", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testQuery(t, r, url.Values{"embed": {"threads"}})
				mu.Lock()
				lookups = append(lookups, r.URL.Path)
				mu.Unlock()
				if loc, ok := tt.location[r.URL.Path]; ok {
					if loc != "" {
						w.Header().Set("Location", loc)
					}
					w.WriteHeader(http.StatusMovedPermanently)
					return
				}
				var id int64
				fmt.Sscanf(r.URL.Path, "/v2/conversations/%d", &id)
				writeJSON(t, w, http.StatusOK, fmt.Sprintf(`{"id":%d,"status":"active","_embedded":{"threads":[]}}`, id))
			})
			got, resp, err := c.Conversations.Get(context.Background(), 100, true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Get error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got.ID != tt.wantID || resp.MergedFrom != 100 {
				t.Errorf("Get(100) = id %d, MergedFrom %d; want id %d, MergedFrom 100", got.ID, resp.MergedFrom, tt.wantID)
			}
			if got.Embedded.Threads == nil {
				t.Error("embed=threads was lost across the redirect")
			}
			mu.Lock()
			defer mu.Unlock()
			if diff := cmp.Diff(tt.wantLookup, lookups); diff != "" {
				t.Errorf("lookups mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A transport below the client (retryablehttp's own http.Client) may follow
// the 301 itself; the id mismatch still reports the merge.
func TestConversationsGetMergedFollowedBelow(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/v2/conversations/100", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, http.StatusOK, `{"id":200}`)
	})
	got, resp, err := c.Conversations.Get(context.Background(), 100, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 200 || resp.MergedFrom != 100 {
		t.Errorf("Get(100) = id %d, MergedFrom %d; want 200, 100", got.ID, resp.MergedFrom)
	}
}

func TestConversationsPatches(t *testing.T) {
	t.Parallel()
	const path = "/v2/conversations/2201934001"
	runWriteCases(t, []writeCase{
		{
			name: "assign", method: http.MethodPatch, path: path,
			call: func(ctx context.Context, c *Client) (*Response, error) {
				return c.Conversations.Assign(ctx, 2201934001, 256)
			},
			wantBody: `{"op":"replace","path":"/assignTo","value":256}`,
		},
		{
			name: "unassign has no value", method: http.MethodPatch, path: path,
			call: func(ctx context.Context, c *Client) (*Response, error) {
				return c.Conversations.Unassign(ctx, 2201934001)
			},
			wantBody: `{"op":"remove","path":"/assignTo"}`,
		},
		{
			name: "status", method: http.MethodPatch, path: path,
			call: func(ctx context.Context, c *Client) (*Response, error) {
				return c.Conversations.UpdateStatus(ctx, 2201934001, StatusClosed)
			},
			wantBody: `{"op":"replace","path":"/status","value":"closed"}`,
		},
	})
}

func TestConversationsCreateNote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		note       NoteRequest
		resourceID string
		wantBody   string
		wantID     int64
	}{
		{
			name:       "text only",
			note:       NoteRequest{Text: "Reassigned by queuewrangler"},
			resourceID: "2535529292",
			wantBody:   `{"text":"Reassigned by queuewrangler"}`,
			wantID:     2535529292,
		},
		{
			name:       "every field",
			note:       NoteRequest{Text: "moved", User: 4, Status: StatusPending, Imported: true, CreatedAt: Time{time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}},
			resourceID: "7",
			wantBody:   `{"text":"moved","user":4,"status":"pending","imported":true,"createdAt":"2026-03-02T09:00:00Z"}`,
			wantID:     7,
		},
		{
			name:     "no Resource-ID header",
			note:     NoteRequest{Text: "x"},
			wantBody: `{"text":"x"}`,
			wantID:   0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			mux.HandleFunc("/v2/conversations/2201934001/notes", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodPost)
				testJSONBody(t, r, tt.wantBody)
				if tt.resourceID != "" {
					w.Header().Set("Resource-ID", tt.resourceID)
				}
				w.WriteHeader(http.StatusCreated)
			})
			id, resp, err := c.Conversations.CreateNote(context.Background(), 2201934001, tt.note)
			if err != nil {
				t.Fatalf("CreateNote: %v", err)
			}
			if id != tt.wantID || resp.ResourceID != tt.wantID {
				t.Errorf("CreateNote = %d (Response.ResourceID %d), want %d", id, resp.ResourceID, tt.wantID)
			}
		})
	}
}

// Arguments that can only be wrong are refused before any request is made,
// by every service.
func TestConversationsRejectBadArguments(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.URL)
	})
	ctx := context.Background()
	routing := RoutingConfig{State: RoutingEnabled, AssignmentLimit: 10, AssignmentMethod: RoutingBalanced, UserIDs: []int64{1}}
	updateRouting := func(mailboxID int64, edit func(*RoutingConfig)) func() error {
		return func() error {
			cfg := routing
			cfg.UserIDs = append([]int64(nil), routing.UserIDs...)
			edit(&cfg)
			_, err := c.Mailboxes.UpdateRouting(ctx, mailboxID, cfg)
			return err
		}
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"get id 0", func() error { _, _, err := c.Conversations.Get(ctx, 0, false); return err }},
		{"assign user 0", func() error { _, err := c.Conversations.Assign(ctx, 1, 0); return err }},
		{"assign conversation -1", func() error { _, err := c.Conversations.Assign(ctx, -1, 5); return err }},
		{"unassign id 0", func() error { _, err := c.Conversations.Unassign(ctx, 0); return err }},
		{"empty status", func() error { _, err := c.Conversations.UpdateStatus(ctx, 1, ""); return err }},
		{"status all", func() error { _, err := c.Conversations.UpdateStatus(ctx, 1, StatusAll); return err }},
		{"empty note", func() error { _, _, err := c.Conversations.CreateNote(ctx, 1, NoteRequest{Text: " "}); return err }},
		{"note on id 0", func() error { _, _, err := c.Conversations.CreateNote(ctx, 0, NoteRequest{Text: "x"}); return err }},
		{"threads of id 0", func() error { _, _, err := c.Threads.List(ctx, 0, 1); return err }},
		{"user 0", func() error { _, _, err := c.Users.Get(ctx, 0); return err }},
		{"status of user 0", func() error { _, _, err := c.Users.Status(ctx, 0); return err }},
		{"members of team 0", func() error { _, _, err := c.Teams.Members(ctx, 0, 1); return err }},
		{"mailbox 0", func() error { _, _, err := c.Mailboxes.Get(ctx, 0); return err }},
		{"folders of mailbox 0", func() error { _, _, err := c.Mailboxes.Folders(ctx, 0, 1); return err }},
		{"routing of mailbox -1", func() error { _, _, err := c.Mailboxes.GetRouting(ctx, -1); return err }},
		{"update routing of mailbox 0", updateRouting(0, func(*RoutingConfig) {})},
		{"routing without state", updateRouting(1, func(r *RoutingConfig) { r.State = "" })},
		{"routing without method", updateRouting(1, func(r *RoutingConfig) { r.AssignmentMethod = "" })},
		{"routing limit 0 (absent from a disabled GET)", updateRouting(1, func(r *RoutingConfig) { r.AssignmentLimit = 0 })},
		{"routing enabled without users", updateRouting(1, func(r *RoutingConfig) { r.UserIDs = nil })},
		{"routing user 0", updateRouting(1, func(r *RoutingConfig) { r.UserIDs = []int64{1, 0} })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestConversationHelpers(t *testing.T) {
	t.Parallel()
	c := wantConversation(t)
	if !c.Assigned() || (Conversation{}).Assigned() {
		t.Error("Assigned() wrong")
	}
	if !c.HasTag("billing") || c.HasTag("qw-pin") {
		t.Error("HasTag wrong")
	}
	if got, want := c.WebURL(), "https://secure.helpscout.net/conversation/2201934001/48211"; got != want {
		t.Errorf("WebURL = %q, want %q", got, want)
	}
	if len(c.Threads()) != 4 {
		t.Errorf("Threads() has %d, want 4", len(c.Threads()))
	}
}
