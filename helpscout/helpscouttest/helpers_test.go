package helpscouttest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// fixture is a started fake with a token and a small account.
type fixture struct {
	srv   *helpscouttest.Server
	ts    *httptest.Server
	clock *testkit.Clock
	wall  *testkit.Clock
	token string

	mailbox, mailbox2 int64
	owner, ana, ben   int64
	team              int64
	customer          int64
}

func setup(t *testing.T, opts helpscouttest.Options) *fixture {
	t.Helper()
	f := &fixture{clock: testkit.NewClock(t0), wall: testkit.NewClock(t0)}
	if opts.Clock == nil {
		opts.Clock = f.clock.Now
	}
	if opts.WallClock == nil {
		opts.WallClock = f.wall.Now
	}
	f.srv, f.ts = helpscouttest.NewTestServer(t, opts)
	f.token = f.srv.IssueToken()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mb, err := f.srv.AddMailbox(helpscouttest.Mailbox{Name: "Support"})
	must(err)
	mb2, err := f.srv.AddMailbox(helpscouttest.Mailbox{Name: "Billing"})
	must(err)
	owner, err := f.srv.AddUser(helpscouttest.User{FirstName: "Olga", LastName: "Owner", Role: "owner"})
	must(err)
	ana, err := f.srv.AddUser(helpscouttest.User{FirstName: "Ana", LastName: "Alvarez", PhotoURL: "https://example.com/ana.jpg"})
	must(err)
	ben, err := f.srv.AddUser(helpscouttest.User{FirstName: "Ben", LastName: "Brooks", Status: "away"})
	must(err)
	team, err := f.srv.AddTeam(helpscouttest.Team{Name: "Tier 1", MemberIDs: []int64{ana.ID, ben.ID}})
	must(err)
	cu, err := f.srv.AddCustomer(helpscouttest.Customer{First: "Sam", Last: "Lee", Email: "sam@example.net"})
	must(err)
	f.mailbox, f.mailbox2, f.owner, f.ana, f.ben, f.team, f.customer = mb.ID, mb2.ID, owner.ID, ana.ID, ben.ID, team.ID, cu.ID
	return f
}

// conv creates a customer-started conversation at the fake clock's time.
func (f *fixture) conv(t *testing.T, nc helpscouttest.NewConversation) helpscouttest.Conversation {
	t.Helper()
	if nc.MailboxID == 0 {
		nc.MailboxID = f.mailbox
	}
	if nc.CustomerID == 0 {
		nc.CustomerID = f.customer
	}
	c, err := f.srv.CreateConversation(nc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return m
}

// do sends a request with the fixture's token (none when tok is "-").
func (f *fixture) do(t *testing.T, method, path, body string) response {
	t.Helper()
	return f.doTok(t, f.token, method, path, body)
}

func (f *fixture) doTok(t *testing.T, tok, method, path, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "-" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

func (f *fixture) token2(t *testing.T, form url.Values) response {
	t.Helper()
	resp, err := http.Post(f.ts.URL+"/v2/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// embedded returns _embedded[key] of a page (nil when _embedded is absent).
func embedded(t *testing.T, page map[string]any, key string) []any {
	t.Helper()
	e, ok := page["_embedded"].(map[string]any)
	if !ok {
		return nil
	}
	items, ok := e[key].([]any)
	if !ok {
		t.Fatalf("_embedded has no %q: %v", key, e)
	}
	return items
}

func ids(t *testing.T, items []any) []int64 {
	t.Helper()
	var out []int64
	for _, it := range items {
		out = append(out, int64(it.(map[string]any)["id"].(float64)))
	}
	return out
}

func num(v any) int64 { return int64(v.(float64)) }
