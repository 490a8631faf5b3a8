package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/metrics"
)

// TestRefusedWebhooksAreNotLoggedOneLineEach: 2,000 POSTs with a bad
// signature wrote 2,000 WARN lines (230 KB/s): anyone who can reach the
// port could fill the disk with the log. The first refusal of a kind is
// logged, then at most one line a minute, carrying how many were refused
// since the previous line; the metric still counts each.
func TestRefusedWebhooksAreNotLoggedOneLineEach(t *testing.T) {
	var (
		logs  syncBuffer
		mu    sync.Mutex
		clock = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
	inbox := &memInbox{}
	m := metrics.NewInstruments(prometheus.NewRegistry())
	s := New(Options{Metrics: m, WebhookSecret: secret, Inbox: inbox, MaxWebhookBytes: 400, Now: now,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	big := `{"id":1,"subject":"` + strings.Repeat("x", 500) + `"}`
	badSignature := func() {
		if w := post(s, inbox, "convo.created", convoBody, sign("wrong", convoBody)); w.Code != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", w.Code)
		}
	}
	tooLarge := func() {
		if w := post(s, inbox, "convo.created", big, sign(secret, big)); w.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("status = %d, want 413", w.Code)
		}
	}
	lines := func(msg string) []string {
		var out []string
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, msg) {
				out = append(out, l)
			}
		}
		return out
	}
	const rejected, oversize = "webhook signature rejected", "webhook body over the size limit"

	// 2,000 at once, from 8 clients: one line.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 250 {
				badSignature()
			}
		})
	}
	wg.Wait()
	if got := lines(rejected); len(got) != 1 || !strings.Contains(got[0], `repeats="logged at most once a minute with a count`) {
		t.Fatalf("after 2,000 bad signatures, %d lines, want the first alone, saying that repeats are summarised:\n%s", len(got), strings.Join(got, "\n"))
	}
	// Another kind of refusal has its own first line.
	tooLarge()
	tooLarge()
	if got := lines(oversize); len(got) != 1 {
		t.Errorf("after 2 oversized bodies, %d lines, want 1:\n%s", len(got), strings.Join(got, "\n"))
	}
	advance(59 * time.Second)
	badSignature()
	if got := lines(rejected); len(got) != 1 {
		t.Errorf("59s later, %d lines, want still 1:\n%s", len(got), strings.Join(got, "\n"))
	}
	advance(time.Second)
	badSignature()
	got := lines(rejected)
	if len(got) != 2 {
		t.Fatalf("a minute later, %d lines, want 2:\n%s", len(got), strings.Join(got, "\n"))
	}
	// 1,999 after the first, the one at 59s, and this one.
	if !strings.Contains(got[1], "level=WARN") || !strings.Contains(got[1], "refused_since_last_line=2001") {
		t.Errorf("the summary line does not say level=WARN and refused_since_last_line=2001:\n%s", got[1])
	}
	advance(time.Minute)
	tooLarge()
	if got := lines(oversize); len(got) != 2 || !strings.Contains(got[1], "refused_since_last_line=2") {
		t.Errorf("a minute after the oversized bodies, want a second line with refused_since_last_line=2:\n%s", strings.Join(got, "\n"))
	}
	// After a quiet spell, one alone is logged as the first was.
	advance(2 * time.Minute)
	badSignature()
	if got := lines(rejected); len(got) != 3 || strings.Contains(got[2], "refused_since_last_line") || !strings.Contains(got[2], "repeats=") {
		t.Errorf("after a quiet spell, want a third line like the first:\n%s", strings.Join(got, "\n"))
	}
	if got := testutil.ToFloat64(m.WebhookEvents.WithLabelValues("convo.created", resultUnauthorized)); got != 2003 {
		t.Errorf("webhook_events_total{result=unauthorized} = %v, want every one of 2003 counted", got)
	}
}

// syncBuffer is a bytes.Buffer the handlers of concurrent requests may
// write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
