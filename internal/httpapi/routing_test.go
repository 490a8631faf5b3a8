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

// TestPageRoutingUnderOffMode: with QW_MODE=off queuewrangler neither
// steers a rotation nor assigns, but the routing section went on saying
// it did; under QW_ROUTING=own that hid that nobody assigns new
// conversations at all (the inbox's routing is off for that mode), which
// only a log line at start said. The section says what holds while off,
// and own routing's case is a warning at the top.
func TestPageRoutingUnderOffMode(t *testing.T) {
	tests := []struct {
		routing    string
		want       string
		wantBanner bool
	}{
		{"helpscout", "Help Scout's routing assigns them as the inbox has it; while the balancer is off (<code>QW_MODE=off</code>) queuewrangler hands out nothing and moves nothing.", false},
		{"steer", "Help Scout's routing assigns them as the inbox has it; while the balancer is off (<code>QW_MODE=off</code>) queuewrangler steers no rotation, hands out nothing and moves nothing.", false},
		{"own", "<strong>Nobody assigns them</strong>: the inbox's routing is off for this mode, and queuewrangler assigns nothing while the balancer is off (<code>QW_MODE=off</code>), so they wait in the Unassigned folder.", true},
	}
	const banner = `<p class="banner notice" role="status">QW_ROUTING=own with QW_MODE=off: nobody assigns new conversations`
	for _, tt := range tests {
		t.Run(tt.routing, func(t *testing.T) {
			clock := newPageClock()
			s := New(Options{Now: clock.Now})
			w := newWorld(clock.Now)
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, Mode: "off", Routing: fakeRouting{Mode: tt.routing, Running: tt.routing}})
			body := pageGet(t, s, "/").Body.String()
			if !strings.Contains(body, tt.want) {
				_, sec, _ := strings.Cut(body, `id="routing"`)
				t.Errorf("the routing section does not say %q:\n%.600s", tt.want, sec)
			}
			if strings.Contains(body, "queuewrangler keeps each inbox") || strings.Contains(body, "queuewrangler assigns each one itself") {
				t.Error("the routing section says queuewrangler steers or assigns while off")
			}
			if got := strings.Contains(body, banner); got != tt.wantBanner {
				t.Errorf("the warning at the top shown = %v, want %v", got, tt.wantBanner)
			}
		})
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
