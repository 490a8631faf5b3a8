package helpscouttest_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

func (f *fixture) routingPath(mailboxID int64) string {
	return fmt.Sprintf("/v2/mailboxes/%d/routing", mailboxID)
}

// rotationOf reads rotation[] of a GET answer as userId -> entry.
func rotationOf(t *testing.T, m map[string]any) map[int64]map[string]any {
	t.Helper()
	out := map[int64]map[string]any{}
	for _, it := range m["rotation"].([]any) {
		e := it.(map[string]any)
		out[num(e["userId"])] = e
	}
	return out
}

func mustRouting(t *testing.T, f *fixture, mailboxID int64, cfg helpscouttest.RoutingConfig) {
	t.Helper()
	if err := f.srv.SetRouting(mailboxID, cfg); err != nil {
		t.Fatal(err)
	}
}

func TestRoutingGet(t *testing.T) {
	f := setup(t, helpscouttest.Options{})

	t.Run("never configured: disabled, no limit or method", func(t *testing.T) {
		r := f.do(t, "GET", f.routingPath(f.mailbox), "")
		if r.code != 200 || r.header.Get("Content-Type") != "application/hal+json" {
			t.Fatalf("GET = %d %s", r.code, r.header.Get("Content-Type"))
		}
		m := r.json(t)
		for _, absent := range []string{"assignmentLimit", "assignmentMethod"} {
			if _, ok := m[absent]; ok {
				t.Errorf("%s present on a never-configured inbox: %s", absent, r.body)
			}
		}
		if m["state"] != "disabled" || len(m["userIds"].([]any)) != 0 {
			t.Errorf("routing = %s", r.body)
		}
		if self := m["_links"].(map[string]any)["self"].(map[string]any)["href"]; self != f.ts.URL+f.routingPath(f.mailbox) {
			t.Errorf("_links.self = %v", self)
		}
		// Everyone who can open the inbox is listed, none of them in the
		// rotation; the team is not a user and is not listed.
		want := map[int64]string{f.owner: "not_in_rotation", f.ana: "not_in_rotation", f.ben: "not_in_rotation"}
		got := map[int64]string{}
		for id, e := range rotationOf(t, m) {
			got[id] = e["reason"].(string)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rotation reasons (-want +got):\n%s", diff)
		}
	})

	t.Run("rotation computed live", func(t *testing.T) {
		cy, err := f.srv.AddUser(helpscouttest.User{FirstName: "Cy", LastName: "Chen"})
		if err != nil {
			t.Fatal(err)
		}
		// Cy may open only the other inbox: listed there only when in the rotation.
		outsider, err := f.srv.AddUser(helpscouttest.User{FirstName: "Oz", Mailboxes: []int64{f.mailbox2}})
		if err != nil {
			t.Fatal(err)
		}
		mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 2,
			AssignmentMethod: "balanced", UserIDs: []int64{cy.ID, f.ana, f.ben}})
		// Ana: two active (at the limit), a pending one and one in the other
		// inbox, which do not count. Ben: one active, but Away.
		f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana, Status: "pending"})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana, MailboxID: f.mailbox2})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ben})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: f.owner})
		closed := f.conv(t, helpscouttest.NewConversation{AssigneeID: cy.ID})
		if err := f.srv.SetStatus(closed.ID, cy.ID, "closed", time.Time{}); err != nil {
			t.Fatal(err)
		}

		r := f.do(t, "GET", f.routingPath(f.mailbox), "")
		m := r.json(t)
		if m["state"] != "enabled" || m["assignmentLimit"] != 2.0 || m["assignmentMethod"] != "balanced" {
			t.Errorf("config = %s", r.body)
		}
		type entry struct {
			ID       int64
			Count    int64
			Eligible bool
			Reason   string
		}
		var got []entry
		for _, it := range m["rotation"].([]any) {
			e := it.(map[string]any)
			en := entry{ID: num(e["userId"]), Count: num(e["conversationsCount"]), Eligible: e["eligible"].(bool)}
			if reason, ok := e["reason"]; ok {
				en.Reason = reason.(string)
			}
			got = append(got, en)
		}
		// The rotation's users in its order, then the others by id.
		want := []entry{
			{cy.ID, 0, true, ""},
			{f.ana, 2, false, "at_capacity"},
			{f.ben, 1, false, "away"},
			{f.owner, 1, false, "not_in_rotation"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("rotation (-want +got):\n%s", diff)
		}
		if slices.ContainsFunc(got, func(e entry) bool { return e.ID == outsider.ID }) {
			t.Error("a user who cannot open the inbox is listed")
		}
		if !strings.Contains(string(r.body), `"eligible":true}`) {
			t.Errorf("an eligible entry carries more than its three keys: %s", r.body)
		}
		state, err := f.srv.Rotation(f.mailbox)
		if err != nil || len(state) != 4 || state[1] != (helpscouttest.RotationEntry{UserID: f.ana, ConversationsCount: 2, Reason: "at_capacity"}) {
			t.Errorf("Rotation() = %+v, %v", state, err)
		}
	})

	t.Run("unknown mailbox", func(t *testing.T) {
		if r := f.do(t, "GET", f.routingPath(3), ""); r.code != 404 || r.header.Get("Content-Type") != "application/vnd.error+json" {
			t.Errorf("GET unknown mailbox = %d %s", r.code, r.body)
		}
	})
}

func TestRoutingPut(t *testing.T) {
	f := setup(t, helpscouttest.Options{RateLimitPerMinute: 100})
	valid := fmt.Sprintf(`{"state":"enabled","assignmentLimit":10,"assignmentMethod":"round_robin","userIds":[%d,%d,%d]}`, f.ana, f.ben, f.ana)

	r := f.do(t, "PUT", f.routingPath(f.mailbox), valid)
	if r.code != 204 || len(r.body) != 0 {
		t.Fatalf("PUT = %d %s, want 204 without a body", r.code, r.body)
	}
	if got := r.header.Get("X-RateLimit-Remaining-Minute"); got != "98" {
		t.Errorf("remaining after one PUT = %s, want 98 (a write costs 2)", got)
	}
	want := helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 10, AssignmentMethod: "round_robin", UserIDs: []int64{f.ana, f.ben}}
	if got, err := f.srv.Routing(f.mailbox); err != nil || !cmp.Equal(got, want) {
		t.Errorf("Routing() = %+v, %v; want %+v (repeated id dropped)", got, err, want)
	}
	r = f.do(t, "GET", f.routingPath(f.mailbox), "")
	if got := r.header.Get("X-RateLimit-Remaining-Minute"); got != "97" {
		t.Errorf("remaining after a GET = %s, want 97 (a read costs 1)", got)
	}
	if got := r.json(t)["userIds"]; !cmp.Equal(got, []any{float64(f.ana), float64(f.ben)}) {
		t.Errorf("userIds = %v", got)
	}

	// Disabling keeps what was sent, as the configuration is replaced whole.
	disable := `{"state":"disabled","assignmentLimit":5,"assignmentMethod":"balanced","userIds":[]}`
	if r := f.do(t, "PUT", f.routingPath(f.mailbox), disable); r.code != 204 {
		t.Fatalf("PUT disabled = %d %s", r.code, r.body)
	}
	m := f.do(t, "GET", f.routingPath(f.mailbox), "").json(t)
	if m["state"] != "disabled" || m["assignmentLimit"] != 5.0 || m["assignmentMethod"] != "balanced" || len(m["userIds"].([]any)) != 0 {
		t.Errorf("after disabling: %v", m)
	}

	puts := f.srv.RoutingPuts()
	if len(puts) != 2 || puts[0].MailboxID != f.mailbox || puts[0].StatusCode != 204 || string(puts[0].Body) != valid || !puts[1].At.Equal(t0) {
		t.Errorf("RoutingPuts = %+v", puts)
	}
	if got := f.srv.Stats().Requests[helpscouttest.RoutePutRouting]; got != 2 {
		t.Errorf("Stats PUT routing = %d, want 2", got)
	}
	f.srv.ResetStats()
	if got := f.srv.RoutingPuts(); len(got) != 0 {
		t.Errorf("RoutingPuts after ResetStats = %+v", got)
	}
	if r := f.do(t, "POST", f.routingPath(f.mailbox), valid); r.code != 405 || r.header.Get("Allow") != "GET, PUT" {
		t.Errorf("POST = %d, Allow %q", r.code, r.header.Get("Allow"))
	}
	if r := f.do(t, "PUT", f.routingPath(3), valid); r.code != 404 {
		t.Errorf("PUT unknown mailbox = %d %s", r.code, r.body)
	}
}

func TestRoutingPutValidation(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	before := helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 7, AssignmentMethod: "balanced", UserIDs: []int64{f.ana}}
	mustRouting(t, f, f.mailbox, before)
	body := func(state, limit, method, users string) string {
		var parts []string
		for _, kv := range [][2]string{{"state", state}, {"assignmentLimit", limit}, {"assignmentMethod", method}, {"userIds", users}} {
			if kv[1] != "" {
				parts = append(parts, fmt.Sprintf("%q:%s", kv[0], kv[1]))
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	ana := fmt.Sprintf("[%d]", f.ana)
	tests := []struct {
		name      string
		body      string
		wantPaths []string
		wantMsg   string // of the first error
	}{
		{"limit 0", body(`"enabled"`, "0", `"balanced"`, ana), []string{"assignmentLimit"}, "must be greater than or equal to 1"},
		{"limit 101", body(`"enabled"`, "101", `"balanced"`, ana), []string{"assignmentLimit"}, "must be less than or equal to 100"},
		{"limit not a number", body(`"enabled"`, `"ten"`, `"balanced"`, ana), []string{"assignmentLimit"}, "Invalid number"},
		{"limit not whole", body(`"enabled"`, "2.5", `"balanced"`, ana), []string{"assignmentLimit"}, "Invalid number"},
		{"unknown method", body(`"enabled"`, "10", `"random"`, ana), []string{"assignmentMethod"}, "Expected one of these: 'round_robin', 'balanced'"},
		{"unknown state", body(`"on"`, "10", `"balanced"`, ana), []string{"state"}, "Expected one of these: 'enabled', 'disabled'"},
		{"enabled without users", body(`"enabled"`, "10", `"balanced"`, "[]"), []string{"userIds"}, "may not be empty"},
		{"unknown user", body(`"enabled"`, "10", `"balanced"`, "[1]"), []string{"userIds"}, "Invalid user"},
		{"a team is not a user", body(`"enabled"`, "10", `"balanced"`, fmt.Sprintf("[%d]", f.team)), []string{"userIds"}, "Invalid user"},
		{"users not numbers", body(`"enabled"`, "10", `"balanced"`, `["ana"]`), []string{"userIds"}, "Expected an array of user ids"},
		{"every key missing", `{}`, []string{"state", "assignmentLimit", "assignmentMethod", "userIds"}, "may not be null"},
		{"null limit", body(`"disabled"`, "null", `"balanced"`, "[]"), []string{"assignmentLimit"}, "may not be null"},
		{"disabled still needs a limit", body(`"disabled"`, "", `"balanced"`, "[]"), []string{"assignmentLimit"}, "may not be null"},
		{"several at once", body(`"enabled"`, "500", `"fastest"`, "[]"), []string{"assignmentLimit", "assignmentMethod", "userIds"}, "must be less than or equal to 100"},
		{"not an object", `[1,2]`, []string{""}, "Malformed JSON"},
		{"not JSON", `state=enabled`, []string{""}, "Malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, "PUT", f.routingPath(f.mailbox), tt.body)
			if r.code != 400 || r.header.Get("Content-Type") != "application/vnd.error+json" {
				t.Fatalf("PUT %s = %d %s", tt.body, r.code, r.body)
			}
			m := r.json(t)
			if m["message"] != "Bad request" || m["logRef"] == "" {
				t.Errorf("error body = %s", r.body)
			}
			var paths []string
			for _, e := range embedded(t, m, "errors") {
				fe := e.(map[string]any)
				paths = append(paths, fe["path"].(string))
				if fe["source"] != "JSON" || fe["_links"].(map[string]any)["about"] == nil {
					t.Errorf("field error = %v", fe)
				}
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("error paths (-want +got):\n%s", diff)
			}
			if got := embedded(t, m, "errors")[0].(map[string]any)["message"]; got != tt.wantMsg {
				t.Errorf("first message = %q, want %q", got, tt.wantMsg)
			}
			if got, _ := f.srv.Routing(f.mailbox); !cmp.Equal(got, before) {
				t.Errorf("a rejected PUT changed the configuration to %+v", got)
			}
		})
	}
	if puts := f.srv.RoutingPuts(); len(puts) != len(tests) || puts[0].StatusCode != 400 {
		t.Errorf("RoutingPuts recorded %d, want %d answered 400", len(puts), len(tests))
	}
}

func TestRoutingPermission(t *testing.T) {
	f := setup(t, helpscouttest.Options{RateLimitPerMinute: 100})
	put := fmt.Sprintf(`{"state":"enabled","assignmentLimit":3,"assignmentMethod":"balanced","userIds":[%d]}`, f.ana)
	tests := []struct {
		name             string
		perm             helpscouttest.RoutingPermission
		wantGet, wantPut int
	}{
		{"denied", helpscouttest.RoutingDenied, 403, 403},
		{"read only", helpscouttest.RoutingReadOnly, 200, 403},
		{"manage routing", helpscouttest.RoutingManage, 200, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.SetRoutingPermission(tt.perm)
			if r := f.do(t, "GET", f.routingPath(f.mailbox), ""); r.code != tt.wantGet {
				t.Errorf("GET = %d, want %d", r.code, tt.wantGet)
			}
			r := f.do(t, "PUT", f.routingPath(f.mailbox), put)
			if r.code != tt.wantPut {
				t.Fatalf("PUT = %d %s, want %d", r.code, r.body, tt.wantPut)
			}
			cfg, _ := f.srv.Routing(f.mailbox)
			if stored := cfg.Enabled(); stored != (tt.wantPut == 204) {
				t.Errorf("stored after a %d: enabled = %v", r.code, stored)
			}
			if r.code == 403 {
				if m := r.json(t); m["message"] != "Access denied" || m["logRef"] == "" {
					t.Errorf("403 body = %s", r.body)
				}
				if r.header.Get("X-RateLimit-Remaining-Minute") == "" {
					t.Error("a 403 carries no rate headers")
				}
			}
		})
	}
}

func TestSetRouting(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	tests := []struct {
		name      string
		mailboxID int64
		cfg       helpscouttest.RoutingConfig
		want      error
	}{
		{"unknown mailbox", 3, helpscouttest.RoutingConfig{State: "disabled", AssignmentLimit: 1, AssignmentMethod: "balanced"}, helpscouttest.ErrNotFound},
		{"limit 0", f.mailbox, helpscouttest.RoutingConfig{State: "disabled", AssignmentMethod: "balanced"}, helpscouttest.ErrInvalid},
		{"enabled, empty", f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 1, AssignmentMethod: "balanced"}, helpscouttest.ErrInvalid},
		{"team in rotation", f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 1, AssignmentMethod: "balanced", UserIDs: []int64{f.team}}, helpscouttest.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := f.srv.SetRouting(tt.mailboxID, tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("SetRouting = %v, want %v", err, tt.want)
			}
		})
	}
	// An admin's edit is not API traffic.
	mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 1, AssignmentMethod: "balanced", UserIDs: []int64{f.ana}})
	if len(f.srv.RoutingPuts()) != 0 || f.srv.Stats().Requests[helpscouttest.RoutePutRouting] != 0 {
		t.Error("SetRouting was counted as a PUT")
	}
	cfg, _ := f.srv.Routing(f.mailbox)
	cfg.UserIDs[0] = 99
	if again, _ := f.srv.Routing(f.mailbox); again.UserIDs[0] != f.ana {
		t.Error("Routing() shares memory with the fake")
	}
}

// people adds active users named in names to the fixture's account (in that
// order of creation, so that ids do not follow the alphabet) and returns
// their ids by name.
func (f *fixture) people(t *testing.T, names ...string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, n := range names {
		u, err := f.srv.AddUser(helpscouttest.User{FirstName: n, LastName: "Team"})
		if err != nil {
			t.Fatal(err)
		}
		out[n] = u.ID
	}
	return out
}

// assignees creates n customer conversations in the fixture's mailbox, one
// minute apart, and returns who each was given (0 = nobody).
func (f *fixture) assignees(t *testing.T, n int) []int64 {
	t.Helper()
	var out []int64
	for range n {
		f.clock.Advance(time.Minute)
		out = append(out, f.conv(t, helpscouttest.NewConversation{}).AssigneeID)
	}
	return out
}

func TestRoutingAssignsNewConversations(t *testing.T) {
	t.Run("round robin in alphabetical order, skipping Away and full", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		p := f.people(t, "Cy", "Ava", "Bo")
		mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 3,
			AssignmentMethod: "round_robin", UserIDs: []int64{p["Cy"], p["Bo"], p["Ava"]}})
		got := f.assignees(t, 4)
		if want := []int64{p["Ava"], p["Bo"], p["Cy"], p["Ava"]}; !slices.Equal(got, want) {
			t.Errorf("round robin = %v, want Ava, Bo, Cy, Ava %v", got, want)
		}
		// Bo goes Away: skipped; the turn passes on from Ava.
		if err := f.srv.SetUserStatus(p["Bo"], "away"); err != nil {
			t.Fatal(err)
		}
		got = f.assignees(t, 2)
		if want := []int64{p["Cy"], p["Ava"]}; !slices.Equal(got, want) {
			t.Errorf("with Bo away = %v, want Cy, Ava %v", got, want)
		}
		// Ava holds 3 active now (the limit), Cy 2: only Cy is eligible,
		// then nobody, and the conversation stays in the Unassigned folder.
		got = f.assignees(t, 2)
		if want := []int64{p["Cy"], 0}; !slices.Equal(got, want) {
			t.Errorf("at the limit = %v, want Cy then nobody %v", got, want)
		}
	})

	t.Run("balanced: fewest active, then least recently routed, then alphabetical", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		p := f.people(t, "Cy", "Ava", "Bo")
		// Cy holds two active, Ava one and a pending one (not counted).
		f.conv(t, helpscouttest.NewConversation{AssigneeID: p["Cy"]})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: p["Cy"]})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: p["Ava"]})
		f.conv(t, helpscouttest.NewConversation{AssigneeID: p["Ava"], Status: "pending"})
		mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 100,
			AssignmentMethod: "balanced", UserIDs: []int64{p["Ava"], p["Bo"], p["Cy"]}})
		got := f.assignees(t, 5)
		// Bo (0); Ava and Bo tie at 1, Ava never routed; then all at 2 with
		// Cy never routed; then Bo and Ava at 2, Bo routed before Ava.
		want := []int64{p["Bo"], p["Ava"], p["Bo"], p["Cy"], p["Ava"]}
		if !slices.Equal(got, want) {
			t.Errorf("balanced = %v, want Bo, Ava, Bo, Cy, Ava %v", got, want)
		}
	})

	t.Run("what routing leaves alone", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 10,
			AssignmentMethod: "balanced", UserIDs: []int64{f.ana}})
		tests := []struct {
			name string
			nc   helpscouttest.NewConversation
			want int64
		}{
			{"assigned at creation (manual or Workflow)", helpscouttest.NewConversation{AssigneeID: f.owner}, f.owner},
			{"started by an agent", helpscouttest.NewConversation{CreatedByUserID: f.owner}, 0},
			{"created closed", helpscouttest.NewConversation{Status: "closed"}, 0},
			{"created as spam", helpscouttest.NewConversation{Status: "spam"}, 0},
			{"another inbox, routing off", helpscouttest.NewConversation{MailboxID: f.mailbox2}, 0},
			{"a customer's new conversation", helpscouttest.NewConversation{}, f.ana},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := f.conv(t, tt.nc).AssigneeID; got != tt.want {
					t.Errorf("assignee = %d, want %d", got, tt.want)
				}
			})
		}
	})

	t.Run("the assignment is visible like Help Scout's", func(t *testing.T) {
		rv := newReceiver(t, 0)
		f := setup(t, hookOpts(rv.ts.URL))
		mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 10,
			AssignmentMethod: "round_robin", UserIDs: []int64{f.ana}})
		c := f.conv(t, helpscouttest.NewConversation{})
		waitHooks(t, f.srv)
		var events []string
		for _, h := range rv.received() {
			events = append(events, h.Event)
		}
		if want := []string{"convo.created", "convo.assigned"}; !slices.Equal(events, want) {
			t.Errorf("webhooks = %v, want %v", events, want)
		}
		m := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d?embed=threads", c.ID), "").json(t)
		if num(m["assignee"].(map[string]any)["id"]) != f.ana || num(m["folderId"]) == 0 {
			t.Errorf("conversation = %v", m)
		}
		newest := embedded(t, m, "threads")[0].(map[string]any)
		if newest["type"] != "lineitem" || newest["action"].(map[string]any)["text"] != "Routing assigned to Ana Alvarez" {
			t.Errorf("newest thread = %v, want the routing lineitem", newest)
		}
	})
}

func TestRoutingBacklog(t *testing.T) {
	// Ana alone in a rotation with a limit of 1; she is Away while two
	// customers write, so both wait in the Unassigned folder.
	start := func(t *testing.T, drains bool) (*fixture, helpscouttest.Conversation, helpscouttest.Conversation) {
		t.Helper()
		f := setup(t, helpscouttest.Options{RoutingDrainsBacklog: drains})
		mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 1,
			AssignmentMethod: "round_robin", UserIDs: []int64{f.ana}})
		if err := f.srv.SetUserStatus(f.ana, "away"); err != nil {
			t.Fatal(err)
		}
		older := f.conv(t, helpscouttest.NewConversation{})
		f.clock.Advance(time.Minute)
		newer := f.conv(t, helpscouttest.NewConversation{})
		if older.AssigneeID != 0 || newer.AssigneeID != 0 {
			t.Fatalf("routed to someone Away: %d, %d", older.AssigneeID, newer.AssigneeID)
		}
		if err := f.srv.SetUserStatus(f.ana, "active"); err != nil {
			t.Fatal(err)
		}
		return f, older, newer
	}
	assignee := func(t *testing.T, f *fixture, id int64) int64 {
		t.Helper()
		c, _ := f.srv.Conversation(id)
		return c.AssigneeID
	}

	t.Run("by default the backlog stays in the folder", func(t *testing.T) {
		f, older, newer := start(t, false)
		if assignee(t, f, older.ID) != 0 || assignee(t, f, newer.ID) != 0 {
			t.Error("the backlog was assigned although RoutingDrainsBacklog is off")
		}
		// Routing still takes what arrives now.
		if got := f.conv(t, helpscouttest.NewConversation{}).AssigneeID; got != f.ana {
			t.Errorf("new conversation went to %d, want Ana", got)
		}
	})

	t.Run("drained oldest first when someone becomes eligible", func(t *testing.T) {
		f, older, newer := start(t, true)
		// Back to Active: the oldest goes to Ana, who is then at her limit.
		if assignee(t, f, older.ID) != f.ana || assignee(t, f, newer.ID) != 0 {
			t.Fatalf("after Ana's return: older -> %d, newer -> %d; want Ana, nobody", assignee(t, f, older.ID), assignee(t, f, newer.ID))
		}
		// Closing it over the API brings her under the limit again.
		if r := f.do(t, "PATCH", fmt.Sprintf("/v2/conversations/%d", older.ID), `{"op":"replace","path":"/status","value":"closed"}`); r.code != 204 {
			t.Fatalf("PATCH = %d %s", r.code, r.body)
		}
		if got := assignee(t, f, newer.ID); got != f.ana {
			t.Errorf("after the close: newer -> %d, want Ana", got)
		}
	})

	t.Run("no drain without someone newly eligible", func(t *testing.T) {
		f, _, newer := start(t, true)
		// Ana is at her limit. A tag, the customer writing again, and
		// someone outside the rotation coming back make nobody eligible.
		changes := []func() error{
			func() error { return f.srv.SetTags(newer.ID, []string{"vip"}, time.Time{}) },
			func() error {
				_, err := f.srv.AddCustomerThread(newer.ID, helpscouttest.ThreadInput{Body: "hello?"})
				return err
			},
			func() error { return f.srv.SetUserStatus(f.ben, "active") },
		}
		for i, change := range changes {
			if err := change(); err != nil {
				t.Fatal(err)
			}
			if got := assignee(t, f, newer.ID); got != 0 {
				t.Fatalf("change %d routed the backlog to %d", i, got)
			}
		}
	})

	t.Run("an admin adding someone to the rotation drains to them", func(t *testing.T) {
		f, _, newer := start(t, true)
		mustRouting(t, f, f.mailbox, helpscouttest.RoutingConfig{State: "enabled", AssignmentLimit: 1,
			AssignmentMethod: "round_robin", UserIDs: []int64{f.ana, f.owner}})
		if got := assignee(t, f, newer.ID); got != f.owner {
			t.Errorf("newer -> %d, want the owner, who just joined the rotation", got)
		}
	})

	t.Run("switching routing on drains the folder", func(t *testing.T) {
		for _, drains := range []bool{false, true} {
			f := setup(t, helpscouttest.Options{RoutingDrainsBacklog: drains})
			c := f.conv(t, helpscouttest.NewConversation{})
			put := fmt.Sprintf(`{"state":"enabled","assignmentLimit":5,"assignmentMethod":"balanced","userIds":[%d]}`, f.ana)
			if r := f.do(t, "PUT", f.routingPath(f.mailbox), put); r.code != 204 {
				t.Fatalf("PUT = %d %s", r.code, r.body)
			}
			want := int64(0)
			if drains {
				want = f.ana
			}
			if got := assignee(t, f, c.ID); got != want {
				t.Errorf("drains %v: assignee %d, want %d", drains, got, want)
			}
		}
	})
}
