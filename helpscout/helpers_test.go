package helpscout

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// setup starts a per-test API server and returns a client pointed at it and
// the mux to register handlers on, as go-github's tests do.
func setup(t *testing.T) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.Client()).WithBaseURL(srv.URL)
	if err != nil {
		t.Fatalf("WithBaseURL(%q): %v", srv.URL, err)
	}
	return c, mux
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if got := r.Method; got != want {
		t.Errorf("request method = %s, want %s", got, want)
	}
}

// testQuery compares the whole query string, so unexpected extra
// parameters fail too.
func testQuery(t *testing.T, r *http.Request, want url.Values) {
	t.Helper()
	if diff := cmp.Diff(want, r.URL.Query(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("query %q mismatch (-want +got):\n%s", r.URL.RawQuery, diff)
	}
}

// testJSONBody checks the request carries JSON equal to want.
func testJSONBody(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("read request body: %v", err)
		return
	}
	if diff := jsonDiff(t, want, string(data)); diff != "" {
		t.Errorf("request body %s mismatch (-want +got):\n%s", data, diff)
	}
}

// jsonDiff compares two JSON texts by value.
func jsonDiff(t *testing.T, want, got string) string {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return fmt.Sprintf("got is not JSON (%v): %s", err, got)
	}
	return cmp.Diff(w, g)
}

func writeJSON(t *testing.T, w http.ResponseWriter, status int, body string) {
	t.Helper()
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	if _, err := io.WriteString(w, body); err != nil {
		t.Errorf("write response: %v", err)
	}
}

// halList renders a HAL page the way Help Scout does: no _embedded at all
// when the page is empty.
func halList(key string, items []string, page PageInfo) string {
	pageJSON, _ := json.Marshal(page)
	links := `"_links":{"self":{"href":"https://api.helpscout.net/v2/x?page=` + strconv.Itoa(page.Number) + `"}}`
	if len(items) == 0 {
		return `{` + links + `,"page":` + string(pageJSON) + `}`
	}
	return `{"_embedded":{"` + key + `":[` + strings.Join(items, ",") + `]},` + links + `,"page":` + string(pageJSON) + `}`
}

// pager serves a paged collection at one path and records what was asked.
type pager struct {
	t     *testing.T
	key   string
	size  int
	items []string

	mu      sync.Mutex
	queries []url.Values
}

func newPager(t *testing.T, key string, size int, items []string) *pager {
	return &pager{t: t, key: key, size: size, items: items}
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	testMethod(p.t, r, http.MethodGet)
	p.mu.Lock()
	p.queries = append(p.queries, r.URL.Query())
	p.mu.Unlock()
	n := 1
	if s := r.URL.Query().Get("page"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			http.Error(w, "bad page", http.StatusBadRequest)
			return
		}
	}
	total := len(p.items)
	pages := (total + p.size - 1) / p.size
	lo, hi := min((n-1)*p.size, total), min(n*p.size, total)
	writeJSON(p.t, w, http.StatusOK, halList(p.key, p.items[lo:hi], PageInfo{Size: p.size, TotalElements: total, TotalPages: pages, Number: n}))
}

func (p *pager) pagesAsked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, q := range p.queries {
		out = append(out, q.Get("page"))
	}
	return out
}

func idItems(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i+1)
	}
	return out
}

func mustTime(t *testing.T, s string) Time {
	t.Helper()
	tm, err := ParseTime(s)
	if err != nil {
		t.Fatalf("ParseTime(%q): %v", s, err)
	}
	return tm
}

// conversationJSON is a conversation as the API sends it with
// embed=threads (helpscout-api.md section 13.1, ids above 2^31).
const conversationJSON = `{
  "id": 2201934001, "number": 48211, "threads": 4, "type": "email", "folderId": 7712,
  "status": "active", "state": "published", "subject": "Invoice shows wrong VAT",
  "preview": "Thanks, I've forwarded this to billing", "mailboxId": 85,
  "assignee": {"id": 256, "type": "user", "first": "Dana", "last": "Ng", "email": "dana@acme.io"},
  "createdBy": {"id": 9001000001, "type": "customer", "email": "sam@example.com"},
  "createdAt": "2026-03-02T09:14:05Z", "closedBy": 0,
  "userUpdatedAt": "2026-03-02T10:02:41Z",
  "customerWaitingSince": {"time": "2026-03-02T10:02:41Z", "friendly": "12 min ago"},
  "source": {"type": "email", "via": "customer"},
  "tags": [{"id": 9150, "color": "#929499", "tag": "billing"}],
  "cc": [], "bcc": [],
  "primaryCustomer": {"id": 9001000001, "type": "customer", "first": "Sam", "last": "Lee", "email": "sam@example.com"},
  "customFields": [{"id": 8, "name": "Plan", "value": "8518", "text": "Pro"}],
  "_embedded": {"threads": [
    {"id": 70004, "type": "message", "status": "nochange", "state": "published",
     "action": {"type": "default", "associatedEntities": {}},
     "body": "<p>Thanks, I've forwarded this to billing.</p>", "source": {"type": "email", "via": "user"},
     "customer": {"id": 9001000001, "first": "Sam", "last": "Lee", "email": "sam@example.com"},
     "createdBy": {"id": 256, "type": "user", "first": "Dana", "last": "Ng", "email": "dana@acme.io"},
     "assignedTo": {"id": 256, "type": "user", "first": "Dana", "last": "Ng", "email": "dana@acme.io"},
     "to": ["sam@example.com"], "cc": [], "bcc": [], "createdAt": "2026-03-02T10:02:41Z", "_embedded": {"attachments": []}},
    {"id": 70003, "type": "note", "status": "nochange", "state": "published",
     "body": "Reassigned by queuewrangler: Ivan is away", "source": {"type": "api", "via": "user"},
     "createdBy": {"id": 4, "type": "user", "first": "Ops", "last": "Bot", "email": "ops@acme.io"},
     "createdAt": "2026-03-02T09:40:10Z"},
    {"id": 70002, "type": "lineitem", "status": "nochange", "state": "published",
     "action": {"type": "assigned", "text": "Ops Bot assigned to Dana Ng", "associatedEntities": {"user": 4}},
     "createdBy": {"id": 4, "type": "user", "first": "Ops", "last": "Bot", "email": "ops@acme.io"},
     "assignedTo": {"id": 256, "type": "user", "first": "Dana", "last": "Ng", "email": "dana@acme.io"},
     "createdAt": "2026-03-02T09:40:09Z"},
    {"id": 70001, "type": "customer", "status": "active", "state": "published",
     "body": "<p>My invoice shows 20% VAT but I'm exempt.</p>", "source": {"type": "email", "via": "customer"},
     "createdBy": {"id": 9001000001, "type": "customer", "first": "Sam", "last": "Lee", "email": "sam@example.com"},
     "createdAt": "2026-03-02T09:14:05Z"}
  ]},
  "_links": {"self": {"href": "https://api.helpscout.net/v2/conversations/2201934001"}}
}`

// wantConversation is conversationJSON decoded.
func wantConversation(t *testing.T) Conversation {
	t.Helper()
	dana := Person{ID: 256, Type: "user", First: "Dana", Last: "Ng", Email: "dana@acme.io"}
	bot := Person{ID: 4, Type: "user", First: "Ops", Last: "Bot", Email: "ops@acme.io"}
	sam := Person{ID: 9001000001, Type: "customer", First: "Sam", Last: "Lee", Email: "sam@example.com"}
	return Conversation{
		ID: 2201934001, Number: 48211, ThreadCount: 4, Type: "email", FolderID: 7712,
		Status: "active", State: "published", Subject: "Invoice shows wrong VAT",
		Preview: "Thanks, I've forwarded this to billing", MailboxID: 85,
		Assignee:             dana,
		CreatedBy:            Person{ID: 9001000001, Type: "customer", Email: "sam@example.com"},
		CreatedAt:            mustTime(t, "2026-03-02T09:14:05Z"),
		UserUpdatedAt:        mustTime(t, "2026-03-02T10:02:41Z"),
		CustomerWaitingSince: CustomerWaitingSince{Time: mustTime(t, "2026-03-02T10:02:41Z"), Friendly: "12 min ago"},
		Source:               Source{Type: "email", Via: "customer"},
		Tags:                 []Tag{{ID: 9150, Color: "#929499", Name: "billing"}},
		CC:                   []string{},
		BCC:                  []string{},
		PrimaryCustomer:      sam,
		CustomFields:         []CustomField{{ID: 8, Name: "Plan", Value: "8518", Text: "Pro"}},
		Embedded: ConversationEmbedded{Threads: []Thread{
			{
				ID: 70004, Type: "message", Status: "nochange", State: "published",
				Action: Action{Type: "default", AssociatedEntities: EntityIDs{}},
				Body:   "<p>Thanks, I've forwarded this to billing.</p>", Source: Source{Type: "email", Via: "user"},
				Customer:  Person{ID: 9001000001, First: "Sam", Last: "Lee", Email: "sam@example.com"},
				CreatedBy: dana, AssignedTo: dana,
				To: []string{"sam@example.com"}, CC: []string{}, BCC: []string{},
				CreatedAt: mustTime(t, "2026-03-02T10:02:41Z"),
			},
			{
				ID: 70003, Type: "note", Status: "nochange", State: "published",
				Body: "Reassigned by queuewrangler: Ivan is away", Source: Source{Type: "api", Via: "user"},
				CreatedBy: bot, CreatedAt: mustTime(t, "2026-03-02T09:40:10Z"),
			},
			{
				ID: 70002, Type: "lineitem", Status: "nochange", State: "published",
				Action:    Action{Type: "assigned", Text: "Ops Bot assigned to Dana Ng", AssociatedEntities: EntityIDs{"user": 4}},
				CreatedBy: bot, AssignedTo: dana, CreatedAt: mustTime(t, "2026-03-02T09:40:09Z"),
			},
			{
				ID: 70001, Type: "customer", Status: "active", State: "published",
				Body: "<p>My invoice shows 20% VAT but I'm exempt.</p>", Source: Source{Type: "email", Via: "customer"},
				CreatedBy: sam, CreatedAt: mustTime(t, "2026-03-02T09:14:05Z"),
			},
		}},
	}
}
