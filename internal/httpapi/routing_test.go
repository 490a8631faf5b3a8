package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/team"
)

// fakeRouting serves a fixed routing view.
type fakeRouting team.Routing

func (f fakeRouting) Routing(context.Context) team.Routing { return team.Routing(f) }

var steered = fakeRouting{Mode: "steer", Running: "steer", Inboxes: []team.RoutingInbox{{
	MailboxID: 1, Name: "Support", Enabled: true, CheckedAt: pageNow.Add(-time.Minute),
	People: []team.RotationPerson{
		{ID: 1, Name: "Ana Alvarez", InRotation: false, Why: "off shift until Tue 09:00 UTC"},
		{ID: 2, Name: "Ben <b>Brown</b>", InRotation: true, Why: "gets the next ticket: nobody waiting on them"},
	},
}, {MailboxID: 2, Name: "Billing", Note: "Help Scout's routing is off in this inbox: there is no rotation to steer."}}}

func TestPageShowsTheSteeredRotationAndWhy(t *testing.T) {
	clock := newPageClock()
	s := New(Options{Now: clock.Now})
	w := newWorld(clock.Now)
	s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, Routing: steered})
	body := pageGet(t, s, "/").Body.String()
	for _, want := range []string{
		`<strong class="routing-mode">steer</strong>`,
		`<h3 class="inbox">Support</h3>`,
		`off shift until Tue 09:00 UTC`,
		`Ben &lt;b&gt;Brown&lt;/b&gt;`,
		`<strong class="in">in</strong>`,
		`Help Scout&#39;s routing is off in this inbox`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "Manage Routing") {
		t.Error("the fallback flag shows while steering works")
	}
}

func TestPageFlagsTheSteerFallback(t *testing.T) {
	clock := newPageClock()
	s := New(Options{Now: clock.Now})
	w := newWorld(clock.Now)
	s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, Routing: fakeRouting{Mode: "steer", Running: "helpscout",
		Notice: "steer needs the Manage Routing permission; running as helpscout"}})
	body := pageGet(t, s, "/").Body.String()
	for _, want := range []string{
		`<p class="banner notice" role="status">steer needs the Manage Routing permission; running as helpscout</p>`,
		`<strong class="routing-mode">helpscout</strong> <span class="muted">(configured: steer)</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestAgentsAPICarriesTheRouting(t *testing.T) {
	s := New(Options{})
	s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Routing: steered})
	rec := pageGet(t, s, "/api/v1/agents")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	var got struct {
		Routing team.Routing `json:"routing"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Routing.Mode != "steer" || len(got.Routing.Inboxes) != 2 || !got.Routing.Inboxes[0].People[1].InRotation {
		t.Errorf("routing = %+v", got.Routing)
	}
}
