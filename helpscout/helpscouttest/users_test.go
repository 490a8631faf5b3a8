package helpscouttest_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

func TestUsersEndpoints(t *testing.T) {
	f := setup(t, helpscouttest.Options{})

	t.Run("list mixes in teams", func(t *testing.T) {
		m := f.do(t, "GET", "/v2/users", "").json(t)
		items := embedded(t, m, "users")
		types := map[int64]string{}
		for _, it := range items {
			u := it.(map[string]any)
			types[num(u["id"])] = u["type"].(string)
		}
		want := map[int64]string{f.owner: "user", f.ana: "user", f.ben: "user", f.team: "team"}
		if diff := cmp.Diff(types, want); diff != "" {
			t.Errorf("types (-got +want):\n%s", diff)
		}
		for _, it := range items {
			u := it.(map[string]any)
			if num(u["id"]) == f.team && (u["firstName"] != "Tier 1" || u["email"] != "" || u["lastName"] != "") {
				t.Errorf("team as user = %v", u)
			}
			if num(u["id"]) == f.ben {
				if _, ok := u["photoUrl"]; ok {
					t.Errorf("photoUrl present for a user without a photo: %v", u)
				}
			}
		}
	})
	t.Run("filter by email", func(t *testing.T) {
		users := f.srv.Users()
		m := f.do(t, "GET", "/v2/users?email="+users[1].Email, "").json(t)
		if got := ids(t, embedded(t, m, "users")); !slices.Equal(got, []int64{users[1].ID}) {
			t.Errorf("ids = %v, want %v", got, users[1].ID)
		}
	})
	t.Run("me", func(t *testing.T) {
		m := f.do(t, "GET", "/v2/users/me", "").json(t)
		if num(m["id"]) != f.owner || m["role"] != "owner" {
			t.Errorf("me = %v", m)
		}
	})
	t.Run("get", func(t *testing.T) {
		m := f.do(t, "GET", fmt.Sprintf("/v2/users/%d", f.ana), "").json(t)
		if m["firstName"] != "Ana" || m["photoUrl"] != "https://example.com/ana.jpg" || m["timezone"] != "UTC" {
			t.Errorf("user = %v", m)
		}
		if got := f.do(t, "GET", "/v2/users/1", "").code; got != 404 {
			t.Errorf("unknown user: %d, want 404", got)
		}
	})
	t.Run("statuses", func(t *testing.T) {
		if err := f.srv.SetUserStatus(f.ana, "away"); err != nil {
			t.Fatal(err)
		}
		m := f.do(t, "GET", "/v2/users/status", "").json(t)
		got := map[int64]string{}
		for _, it := range embedded(t, m, "userStatuses") {
			st := it.(map[string]any)
			got[num(st["userId"])] = st["email"].(map[string]any)["status"].(string)
		}
		want := map[int64]string{f.owner: "active", f.ana: "away", f.ben: "away"}
		if diff := cmp.Diff(got, want); diff != "" {
			t.Errorf("statuses (-got +want):\n%s", diff)
		}
		one := f.do(t, "GET", fmt.Sprintf("/v2/users/%d/status", f.owner), "").json(t)
		if num(one["userId"]) != f.owner || one["email"].(map[string]any)["status"] != "active" {
			t.Errorf("status = %v", one)
		}
		if got := f.do(t, "GET", fmt.Sprintf("/v2/users/%d/status", f.team), "").code; got != 404 {
			t.Errorf("team status: %d, want 404", got)
		}
	})
	t.Run("teams", func(t *testing.T) {
		m := f.do(t, "GET", "/v2/teams", "").json(t)
		teams := embedded(t, m, "teams")
		if len(teams) != 1 || teams[0].(map[string]any)["name"] != "Tier 1" {
			t.Errorf("teams = %v", teams)
		}
		mem := f.do(t, "GET", fmt.Sprintf("/v2/teams/%d/members", f.team), "").json(t)
		if got := ids(t, embedded(t, mem, "users")); !slices.Equal(got, []int64{f.ana, f.ben}) {
			t.Errorf("members = %v", got)
		}
		if got := f.do(t, "GET", "/v2/teams/5/members", "").code; got != 404 {
			t.Errorf("unknown team: %d", got)
		}
	})
}

func TestMailboxEndpoints(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	f.conv(t, helpscouttest.NewConversation{})
	f.conv(t, helpscouttest.NewConversation{AssigneeID: f.owner})
	f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana, Status: "pending"})
	f.conv(t, helpscouttest.NewConversation{Status: "closed"})

	m := f.do(t, "GET", "/v2/mailboxes", "").json(t)
	if got := ids(t, embedded(t, m, "mailboxes")); !slices.Equal(got, []int64{f.mailbox, f.mailbox2}) {
		t.Errorf("mailboxes = %v", got)
	}
	one := f.do(t, "GET", fmt.Sprintf("/v2/mailboxes/%d/", f.mailbox), "").json(t)
	if one["name"] != "Support" {
		t.Errorf("mailbox = %v", one)
	}
	links := one["_links"].(map[string]any)
	for _, k := range []string{"fields", "folders", "self"} {
		if _, ok := links[k]; !ok {
			t.Errorf("_links.%s missing", k)
		}
	}
	if got := f.do(t, "GET", "/v2/mailboxes/3", "").code; got != 404 {
		t.Errorf("unknown mailbox: %d", got)
	}

	fm := f.do(t, "GET", fmt.Sprintf("/v2/mailboxes/%d/folders", f.mailbox), "").json(t)
	type counts struct{ Total, Active int }
	got := map[string]counts{}
	for _, it := range embedded(t, fm, "folders") {
		fo := it.(map[string]any)
		got[fo["type"].(string)] = counts{int(num(fo["totalCount"])), int(num(fo["activeCount"]))}
	}
	want := map[string]counts{
		"open": {1, 1}, "mytickets": {1, 1}, "needs_attn": {}, "drafts": {},
		"assigned": {2, 1}, "closed": {1, 0}, "spam": {}, "team": {},
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("folder counts (-got +want):\n%s", diff)
	}
}

func TestUnknownRoutes(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/v2/nothing", 404},
		{"GET", "/v1/conversations", 404},
		{"GET", "/v2/conversations/abc", 404},
		{"DELETE", "/v2/conversations/1", 405},
		{"POST", "/v2/users", 405},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := f.do(t, tt.method, tt.path, "")
			if r.code != tt.want {
				t.Fatalf("code = %d, want %d", r.code, tt.want)
			}
			if m := r.json(t); m["logRef"] == nil || m["message"] == nil {
				t.Errorf("body not in the error shape: %s", r.body)
			}
			if r.header.Get("Correlation-Id") == "" {
				t.Error("no Correlation-Id")
			}
		})
	}
	if got := f.srv.Stats().Requests["GET (unmatched)"]; got != 3 {
		t.Errorf("unmatched GETs counted = %d, want 3", got)
	}
}

// TestUsersByMailbox: GET /v2/users?mailbox= lists the users who can open
// one of the mailboxes; users without a mailbox list can open every one.
func TestUsersByMailbox(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	sam, err := f.srv.AddUser(helpscouttest.User{FirstName: "Sam", Mailboxes: []int64{f.mailbox2}})
	if err != nil {
		t.Fatal(err)
	}
	everyone := []int64{f.owner, f.ana, f.ben}
	tests := []struct {
		query string
		want  []int64
	}{
		{fmt.Sprint(f.mailbox), everyone},
		{fmt.Sprint(f.mailbox2), append(slices.Clone(everyone), sam.ID)},
		{fmt.Sprintf("%d,%d", f.mailbox, f.mailbox2), append(slices.Clone(everyone), sam.ID)},
	}
	for _, tt := range tests {
		m := f.do(t, "GET", "/v2/users?mailbox="+tt.query, "").json(t)
		if got := ids(t, embedded(t, m, "users")); !slices.Equal(got, tt.want) {
			t.Errorf("mailbox=%s: users %v, want %v", tt.query, got, tt.want)
		}
	}
	if code := f.do(t, "GET", "/v2/users?mailbox=x", "").code; code != 400 {
		t.Errorf("mailbox=x: status %d, want 400", code)
	}
	if u := f.srv.Users(); !slices.Equal(u[len(u)-1].Mailboxes, []int64{f.mailbox2}) {
		t.Errorf("Users() lost the mailboxes: %+v", u[len(u)-1])
	}
}
