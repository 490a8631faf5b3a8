package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestServeSteersTheRoutingRotation runs the daemon, run(), with
// QW_ROUTING=steer against the fake with routing on (Balanced, Ana, Ben
// and Cy in the rotation; Cy works Mon-Fri 09:00-17:00 UTC) on a test
// clock, and checks design.md section 8's rules end to end: the rotation
// follows people going Away or off shift and coming back; an admin's edit
// between two runs is adopted, not overwritten; the rotation is never
// empty while someone is available; nothing is written while nothing
// changes (the PUTs are counted); the page shows who is in and why; and
// at shutdown the admin's set is restored.
func TestServeSteersTheRoutingRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon through several simulated shifts")
	}
	const id, secret = "steer", "steer-client-secret"
	clock := testkit.NewClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)) // a Monday
	fake := helpscouttest.New(helpscouttest.Options{ClientID: id, ClientSecret: secret, Clock: clock.Now})
	t.Cleanup(func() { fake.Close() })
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	people := map[string]int64{}
	for _, name := range []string{"Ana", "Ben", "Cy"} {
		u, err := fake.AddUser(helpscouttest.User{FirstName: name, Email: strings.ToLower(name) + "@example.com", Status: "active", Timezone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		people[name] = u.ID
	}
	ana, ben, cy := people["Ana"], people["Ben"], people["Cy"]
	cust, err := fake.AddCustomer(helpscouttest.Customer{First: "Sam", Email: "sam@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	setRotation := func(ids ...int64) {
		t.Helper()
		if err := fake.SetRouting(mb.ID, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
			AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: ids}); err != nil {
			t.Fatal(err)
		}
	}
	setRotation(ana, ben, cy)
	ros, err := roster.New(roster.Entry{Role: roster.RoleST}, []roster.Entry{{ID: cy, Hours: "Mon-Fri 09:00-17:00", Timezone: "UTC"}})
	if err != nil {
		t.Fatal(err)
	}

	// The listener is opened first and its address handed on, so that no
	// other test can take the port in between.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	cfg := &config.Config{
		HelpScoutClientID: id, HelpScoutClientSecret: secret, HelpScoutAPIURL: ts.URL,
		DBPath: filepath.Join(t.TempDir(), "qw.db"), ListenAddr: addr,
		PollInterval: config.Duration{Duration: 100 * time.Millisecond}, BalanceInterval: config.Duration{Duration: 150 * time.Millisecond},
		Mode: string(rebalance.ModePropose), StuckAfter: config.Duration{Duration: 4 * time.Hour}, MaxMovesPerRun: config.Int{N: 5},
		RateLimitPerMinute: config.Int{N: 100000}, LogFormat: "text", LogLevel: "info",
		Routing: string(balancer.RoutingSteer), Backlog: balancer.FormatBacklog(balancer.BacklogIdle), OffShiftHandover: balancer.HandoverNew,
	}
	settings, problems := parse(cfg, ros)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	logs := &testkit.LogBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = run(ctx, settings, ln, slog.New(slog.NewTextHandler(logs, nil)), clock.Now) })
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			wg.Wait()
		}
	}
	t.Cleanup(stop)

	rotation := func() []int64 {
		cfg, err := fake.Routing(mb.ID)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Sorted(slices.Values(cfg.UserIDs))
	}
	names := map[int64]string{ana: "Ana", ben: "Ben", cy: "Cy"}
	show := func(ids []int64) string {
		var out []string
		for _, id := range ids {
			out = append(out, names[id])
		}
		return "[" + strings.Join(out, " ") + "]"
	}
	// settle waits until the rotation is want, then for three more reads
	// of the routing (each a steer that saw it), and checks that those
	// wrote nothing.
	settle := func(what string, want ...int64) {
		t.Helper()
		slices.Sort(want)
		testkit.WaitFor(t, 30*time.Second, what, func() (bool, string) {
			got := rotation()
			return slices.Equal(got, want), fmt.Sprintf("rotation %s, want %s; log tail:\n%s", show(got), show(want), tail(logs.String(), 2000))
		})
		puts := len(fake.RoutingPuts())
		gets := fake.Stats().Requests[helpscouttest.RouteGetRouting]
		testkit.WaitFor(t, 30*time.Second, what+": three more steers", func() (bool, string) {
			n := fake.Stats().Requests[helpscouttest.RouteGetRouting] - gets
			return n >= 3, fmt.Sprintf("%d routing reads", n)
		})
		if got := rotation(); !slices.Equal(got, want) {
			t.Fatalf("%s: rotation %s moved on to %s", what, show(want), show(got))
		}
		if n := len(fake.RoutingPuts()) - puts; n != 0 {
			t.Errorf("%s: %d PUTs while nothing changed, want none", what, n)
		}
	}
	// refresh moves the clock past the mirror's directory cadence, so
	// that the next poll reads the users' statuses.
	refresh := func() { clock.Advance(16 * time.Minute) }

	// Everyone idle and available: the admin's set is what steer wants.
	settle("everyone in", ana, ben, cy)
	if n := len(fake.RoutingPuts()); n != 0 {
		t.Errorf("%d PUTs while the admin's set was already right, want none", n)
	}

	// Away and back.
	if err := fake.SetUserStatus(ben, "away"); err != nil {
		t.Fatal(err)
	}
	refresh()
	settle("Ben away: out", ana, cy)
	if err := fake.SetUserStatus(ben, "active"); err != nil {
		t.Fatal(err)
	}
	refresh()
	settle("Ben back: in", ana, ben, cy)

	// Off shift and back: Cy's shift ends at 17:00.
	clock.Set(time.Date(2026, 3, 2, 17, 30, 0, 0, time.UTC))
	settle("Cy off shift: out", ana, ben)
	body := get(t, "http://"+addr+"/")
	for _, want := range []string{`<strong class="routing-mode">steer</strong>`, "off shift until Tue 09:00 UTC"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	clock.Set(time.Date(2026, 3, 3, 9, 5, 0, 0, time.UTC))
	settle("Cy's next shift: in", ana, ben, cy)

	// An admin takes Ben out between two runs: adopted as the ceiling, and
	// never overwritten although Ben is available and idle.
	putsBefore := len(fake.RoutingPuts())
	setRotation(ana, cy)
	settle("the admin's edit kept", ana, cy)
	if n := len(fake.RoutingPuts()) - putsBefore; n != 0 {
		t.Errorf("%d PUTs after the admin's edit, want none: it is adopted as it is", n)
	}
	if !strings.Contains(logs.String(), "adopted as the admin's set") {
		t.Errorf("the adoption is not logged")
	}

	// Ana gets busy: Cy alone. Then Cy goes Away: Ana, busy or not, is the
	// one available, and the rotation is never empty.
	for range 3 {
		if _, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust.ID,
			Subject: "help", Body: "please", AssigneeID: ana}); err != nil {
			t.Fatal(err)
		}
	}
	settle("Ana busy: Cy alone", cy)
	if err := fake.SetUserStatus(cy, "away"); err != nil {
		t.Fatal(err)
	}
	refresh()
	settle("Cy away: Ana, the only one available", ana)
	if err := fake.SetUserStatus(ana, "away"); err != nil {
		t.Fatal(err)
	}
	refresh()
	settle("nobody available: left as it is", ana)
	for _, p := range []int64{ana, cy} {
		if err := fake.SetUserStatus(p, "active"); err != nil {
			t.Fatal(err)
		}
	}
	refresh()
	settle("Cy back", cy)

	// Every PUT kept the inbox's routing as the admin set it.
	for _, p := range fake.RoutingPuts() {
		if p.StatusCode != http.StatusNoContent || !strings.Contains(string(p.Body), `"state":"enabled"`) ||
			!strings.Contains(string(p.Body), `"assignmentMethod":"balanced"`) || !strings.Contains(string(p.Body), `"assignmentLimit":10`) {
			t.Errorf("PUT %s answered %d: want 204 with state, method and limit as read", p.Body, p.StatusCode)
		}
	}
	t.Logf("%d routing PUTs, %d routing reads", len(fake.RoutingPuts()), fake.Stats().Requests[helpscouttest.RouteGetRouting])

	// Shutdown gives the admin's set back.
	stop()
	if runErr != nil {
		t.Fatalf("run: %v", runErr)
	}
	if got := rotation(); !slices.Equal(got, []int64{ana, cy}) {
		t.Errorf("rotation after shutdown %s, want the admin's [Ana Cy]", show(got))
	}
}
