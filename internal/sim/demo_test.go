package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDemoEventsShowMovesAndProblems: the demo's terminal shows moves and
// problems, not every sync.
func TestDemoEventsShowMovesAndProblems(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(demoEvents{slog.NewTextHandler(&buf, nil)}).With("component", "x")
	log.Info("sync done", "pages", 1)
	log.Info("move applied", "reason", "overload")
	log.Warn("move failed", "why", "503")
	log.Debug("move applied")
	out := buf.String()
	if strings.Contains(out, "sync done") || strings.Count(out, "\n") != 2 ||
		!strings.Contains(out, `msg="move applied"`) || !strings.Contains(out, `msg="move failed"`) {
		t.Errorf("demo log:\n%s\nwant the move and the warning only", out)
	}
}

func TestFakeOptionsValidate(t *testing.T) {
	var ok FakeOptions
	ok.Fake.Webhook.URL, ok.Fake.Webhook.Secret = "http://127.0.0.1:8080/webhooks/helpscout", "s3cret"
	if err := ok.Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	bad := FakeOptions{Conversations: -1, Speed: MaxSpeed + 1}
	bad.Fake.RateLimitPerMinute = -5
	bad.Fake.Webhook.Secret = strings.Repeat("s", 41)
	err := bad.Validate()
	for _, want := range []string{"--conversations", "--rate-limit", "--webhook-url and --webhook-secret", "--speed", "--webhook-secret is longer"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem naming %s", err, want)
		}
	}
	if err := (FakeOptions{ScenarioName: "vacation"}).Validate(); err == nil || !strings.Contains(err.Error(), "--scenario needs --speed") {
		t.Errorf("a scenario without a speed: %v", err)
	}
}

// TestDemoProposalsLastInRealTime: the daemon's clock in the demo is the
// simulation's, so the proposals' expiry must be scaled by the speed, or
// at 60x a proposal goes stale two real minutes after it is made (review
// finding 4).
func TestDemoProposalsLastInRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the demo's simulated account")
	}
	for _, speed := range []float64{1, 60, 600} {
		var got DemoDaemon
		err := RunDemo(t.Context(), DemoOptions{Addr: "127.0.0.1:0", Speed: speed, Mode: "propose", Serve: serveUntilDone}, io.Discard, io.Discard,
			func(_ context.Context, d DemoDaemon) error { got = d; return nil })
		if err != nil {
			t.Fatalf("speed %g: %v", speed, err)
		}
		want := time.Duration(speed * float64(2*time.Hour))
		if got.ProposalTTL != want {
			t.Errorf("speed %g: the daemon's proposal TTL is %v of simulated time, want %v (2 real hours)", speed, got.ProposalTTL, want)
		}
	}
}

// serveUntilDone is a Serve for tests: h on ln until ctx ends.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, _ *slog.Logger, grace time.Duration) error {
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		stop, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		_ = srv.Shutdown(stop)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Steering the rotation changes it every few real seconds at 60x: the
// demo's terminal would show more rotation lines than moves.
func TestDemoEventsLeaveOutRotationSteps(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(demoEvents{slog.NewTextHandler(&buf, nil)})
	log.Info("routing rotation steered", "before", "Ana", "after", "Ben")
	if buf.Len() != 0 {
		t.Errorf("demo log shows the rotation step:\n%s", buf.String())
	}
}

func TestLoopbackHosts(t *testing.T) {
	for _, tt := range []struct {
		ip   string
		want []string
	}{
		{"127.0.0.1", []string{"localhost", "127.0.0.1"}},
		{"::1", []string{"localhost", "[::1]"}},
		{"0.0.0.0", nil},
		{"192.168.1.20", nil},
	} {
		got := loopbackHosts(&net.TCPAddr{IP: net.ParseIP(tt.ip), Port: 8080})
		if !slices.Equal(got, tt.want) {
			t.Errorf("loopbackHosts(%s) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

func TestServeHint(t *testing.T) {
	var static FakeOptions
	static.Fake.ClientID, static.Fake.ClientSecret = "demo", "demo-secret"
	withWebhook := static
	withWebhook.Fake.Webhook.URL, withWebhook.Fake.Webhook.Secret = "http://127.0.0.1:8080/webhooks/helpscout", "s3cret"
	live := static
	live.Scenario, live.Speed = &Scenario{}, 60
	for _, tt := range []struct {
		name          string
		o             FakeOptions
		want, notWant string
	}{
		{"static", static, "QW_HELPSCOUT_API_URL=http://127.0.0.1:9090 QW_HELPSCOUT_CLIENT_ID=demo QW_HELPSCOUT_CLIENT_SECRET=demo-secret queuewrangler serve", "WEBHOOK"},
		{"with webhooks", withWebhook, "QW_HELPSCOUT_CLIENT_SECRET=demo-secret QW_HELPSCOUT_WEBHOOK_SECRET=s3cret queuewrangler serve", ""},
		{"a live team", live, "use queuewrangler demo", "queuewrangler serve"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			writeServeHint(&buf, tt.o, "http://127.0.0.1:9090")
			if !strings.Contains(buf.String(), tt.want) || (tt.notWant != "" && strings.Contains(buf.String(), tt.notWant)) {
				t.Errorf("hint:\n%s\nwant %q and not %q", buf.String(), tt.want, tt.notWant)
			}
		})
	}
}
