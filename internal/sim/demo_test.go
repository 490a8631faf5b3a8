package sim

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
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
