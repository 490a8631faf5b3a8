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
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// slowRouting delays the routing reads and writes, once on, by delay:
// Help Scout answering in a few hundred milliseconds, as it does.
type slowRouting struct {
	next  http.Handler
	on    atomic.Bool
	delay time.Duration
}

func (s *slowRouting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.on.Load() && strings.HasSuffix(r.URL.Path, "/routing") {
		time.Sleep(s.delay)
	}
	s.next.ServeHTTP(w, r)
}

// holdHTTPGrace starts a webhook delivery whose body never all arrives,
// as on a slow link: its handler is still reading when the stop begins,
// and holds the HTTP server's grace (workShare) to its end.
func holdHTTPGrace(t *testing.T, ln net.Listener) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /webhooks/helpscout HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-HelpScout-Event: convo.created\r\nContent-Length: 100\r\n\r\n{\"id\":")
	time.Sleep(300 * time.Millisecond) // the handler is reading
}

// QW_ROUTING=steer narrows the rotation (Ben away); at SIGTERM, with one
// request holding the HTTP grace and Help Scout answering in 300 ms, the
// admin's set is put back (README section 7). It was restored only once
// the grace ended, with 0.5 s left of the budget, and was not.
func TestStopRestoresTheSteeredRotationWhileHTTPDrains(t *testing.T) {
	for _, slowClient := range []bool{false, true} {
		t.Run(fmt.Sprintf("slow HTTP client %v", slowClient), func(t *testing.T) {
			const id, secret = "steer", "steer-client-secret"
			fake := helpscouttest.New(helpscouttest.Options{ClientID: id, ClientSecret: secret})
			t.Cleanup(func() { fake.Close() })
			slow := &slowRouting{next: fake, delay: 300 * time.Millisecond}
			ts := httptest.NewServer(slow)
			t.Cleanup(ts.Close)
			mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, name := range []string{"Ana", "Ben"} {
				u, err := fake.AddUser(helpscouttest.User{FirstName: name, Email: strings.ToLower(name) + "@example.com", Status: "active", Timezone: "UTC"})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, u.ID)
			}
			ana, ben := ids[0], ids[1]
			if err := fake.SetRouting(mb.ID, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
				AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: []int64{ana, ben}}); err != nil {
				t.Fatal(err)
			}
			if err := fake.SetUserStatus(ben, "away"); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfg := &config.Config{
				HelpScoutClientID: id, HelpScoutClientSecret: secret, HelpScoutAPIURL: ts.URL, WebhookSecret: "wh-secret",
				DBPath: filepath.Join(t.TempDir(), "qw.db"), ListenAddr: ln.Addr().String(),
				PollInterval: config.Duration{Duration: time.Hour}, BalanceInterval: config.Duration{Duration: 150 * time.Millisecond},
				Mode: string(rebalance.ModePropose), StuckAfter: config.Duration{Duration: 4 * time.Hour}, MaxMovesPerRun: config.Int{N: 5},
				RateLimitPerMinute: config.Int{N: 100000}, LogFormat: "text", LogLevel: "info",
				Routing: string(balancer.RoutingSteer), Backlog: balancer.FormatBacklog(balancer.BacklogIdle), OffShiftHandover: balancer.HandoverNew,
			}
			s, problems := parse(cfg, roster.Default())
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			var logs testkit.LogBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runErr := make(chan error, 1)
			go func() { runErr <- run(ctx, s, ln, slog.New(slog.NewTextHandler(&logs, nil)), time.Now) }()
			rotation := func() []int64 {
				c, err := fake.Routing(mb.ID)
				if err != nil {
					t.Fatal(err)
				}
				return slices.Sorted(slices.Values(c.UserIDs))
			}
			testkit.WaitFor(t, 30*time.Second, "steered to Ana alone", func() (bool, string) {
				got := rotation()
				return slices.Equal(got, []int64{ana}), fmt.Sprintf("rotation %v; log:\n%s", got, tail(logs.String(), 2000))
			})
			if slowClient {
				holdHTTPGrace(t, ln)
			}
			slow.on.Store(true)
			took := stopAndTime(t, cancel, runErr, &logs)
			t.Logf("SIGTERM to return: %s", took.Round(time.Millisecond))
			if got := rotation(); !slices.Equal(got, []int64{ana, ben}) {
				t.Errorf("after the stop the rotation is %v, want the admin's set %v restored; log tail:\n%s", got, []int64{ana, ben}, tail(logs.String(), 1500))
			}
			if took > stopBudget {
				t.Errorf("the stop took %s, over its budget %s", took, stopBudget)
			}
		})
	}
}

// While one request holds the HTTP grace, the balancer begins no run
// after SIGTERM: it went on planning and making moves for up to 6 s, each
// of which the budget then had to cut or wait for (apply mode: 1 move
// before the signal, 4 after).
func TestStopBeginsNoBalancerRunWhileHTTPDrains(t *testing.T) {
	fake, s, ln := smallTeam(t, 4, rebalance.ModeApply, func(h http.Handler) http.Handler { return h })
	s.policy.MaxMovesPerRun = 1
	s.BalanceInterval.Duration = time.Second
	var logs testkit.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- run(ctx, s, ln, slog.New(slog.NewTextHandler(&logs, nil)), time.Now) }()
	assigns := func() int {
		n := 0
		for _, p := range fake.Patches() {
			if p.Path == "/assignTo" && p.StatusCode == http.StatusNoContent {
				n++
			}
		}
		return n
	}
	testkit.WaitFor(t, 30*time.Second, "a first move", func() (bool, string) {
		return assigns() >= 1, tail(logs.String(), 2000)
	})
	holdHTTPGrace(t, ln) // the next run is due 0.7 s from here, well before the grace ends
	before := assigns()
	took := stopAndTime(t, cancel, runErr, &logs)
	after := assigns()
	t.Logf("SIGTERM to return: %s; assignments before SIGTERM %d, after %d", took.Round(time.Millisecond), before, after)
	if took < 5*time.Second {
		t.Fatalf("the stop took %s: the held request did not hold the HTTP grace, so the test shows nothing", took)
	}
	if after != before {
		t.Errorf("%d moves made after SIGTERM; log tail:\n%s", after-before, tail(logs.String(), 2500))
	}
}
