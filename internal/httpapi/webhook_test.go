package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

const secret = "s3cret-for-tests"

// sign is computed here rather than with helpscout.Sign so that the test
// checks the verifier against an independent implementation.
func sign(key, body string) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(body))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type storedEvent struct {
	event, body, reason string
	rejected            bool
}

// memInbox records events; it stands in for the SQLite inbox, and the
// handler must have called it before the response is written.
type memInbox struct {
	mu      sync.Mutex
	events  []storedEvent
	fail    error
	damaged bool
}

// SayFailure says a damaged file once, with a remedy, as store.DB does.
func (m *memInbox) SayFailure(err error, say func(error)) {
	if !errors.Is(err, store.ErrCorrupt) {
		say(err)
		return
	}
	m.mu.Lock()
	news := !m.damaged
	m.damaged = true
	m.mu.Unlock()
	if news {
		say(fmt.Errorf("database /data/queuewrangler.db: %w; restore it from a backup", err))
	}
}

func (m *memInbox) AddWebhook(_ context.Context, event string, body []byte, _ time.Time) (int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return 0, false, m.fail
	}
	for i, e := range m.events {
		if !e.rejected && e.event == event && e.body == string(body) {
			return int64(i + 1), true, nil
		}
	}
	m.events = append(m.events, storedEvent{event: event, body: string(body)})
	return int64(len(m.events)), false, nil
}

func (m *memInbox) RejectWebhook(_ context.Context, event string, body []byte, _ time.Time, reason string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, storedEvent{event: event, body: string(body), reason: reason, rejected: true})
	return int64(len(m.events)), nil
}

func (m *memInbox) snapshot() []storedEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]storedEvent(nil), m.events...)
}

// recordingWriter notes what the inbox held at the moment the status was
// written, which is the durability promise: stored, then acknowledged.
type recordingWriter struct {
	*httptest.ResponseRecorder
	inbox         *memInbox
	storedAtWrite int
}

func (r *recordingWriter) WriteHeader(code int) {
	r.storedAtWrite = len(r.inbox.snapshot())
	r.ResponseRecorder.WriteHeader(code)
}

func newTestServer(t *testing.T, inbox *memInbox, secret string) (*Server, *metrics.Instruments) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.NewInstruments(reg)
	return New(Options{Metrics: m, Gatherer: reg, WebhookSecret: secret, Inbox: inbox, MaxWebhookBytes: 4096}), m
}

func post(s http.Handler, inbox *memInbox, event, body, signature string) *recordingWriter {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/helpscout", strings.NewReader(body))
	if event != "" {
		req.Header.Set("X-HelpScout-Event", event)
	}
	if signature != "" {
		req.Header.Set("X-HelpScout-Signature", signature)
	}
	w := &recordingWriter{ResponseRecorder: httptest.NewRecorder(), inbox: inbox}
	s.ServeHTTP(w, req)
	return w
}

const convoBody = `{"id":2201934,"number":48211,"threads":4,"type":"email","status":"active","state":"published","mailboxId":85,"createdAt":"2026-03-02T09:14:05Z","userUpdatedAt":"2026-03-02T10:02:41Z"}`

func TestWebhookResponses(t *testing.T) {
	year9999 := strings.Replace(convoBody, `"createdAt":"2026-03-02T09:14:05Z"`, `"createdAt":"9999-03-02T09:14:05Z"`, 1)
	negativeThreads := strings.Replace(convoBody, `"threads":4`, `"threads":-4`, 1)
	big := `{"id":1,"subject":"` + strings.Repeat("x", 5000) + `"}`
	tests := []struct {
		name       string
		event      string
		body       string
		signature  string
		wantStatus int
		wantStored int
		wantResult string
	}{
		{"valid conversation event", "convo.agent.reply.created", convoBody, sign(secret, convoBody), 200, 1, "stored"},
		{"valid deletion", "convo.deleted", `{"id":123}`, sign(secret, `{"id":123}`), 200, 1, "stored"},
		{"signature with surrounding whitespace", "convo.created", convoBody, "\n" + sign(secret, convoBody) + " \n", 200, 1, "stored"},
		{"missing signature", "convo.created", convoBody, "", 401, 0, "unauthorized"},
		{"wrong secret", "convo.created", convoBody, sign("other", convoBody), 401, 0, "unauthorized"},
		{"body changed after signing", "convo.created", convoBody + " ", sign(secret, convoBody), 401, 0, "unauthorized"},
		{"over the size limit", "convo.created", big, sign(secret, big), 413, 0, "too_large"},
		{"signed but malformed", "convo.created", `{"id":`, sign(secret, `{"id":`), 400, 1, "malformed"},
		{"test event", "helpscout.test", `{}`, sign(secret, `{}`), 200, 0, "test"},
		// Issue 17, row 13: kept in the rejected sample, never applied.
		{"signed but dated year 9999", "convo.tags", year9999, sign(secret, year9999), 400, 1, "malformed"},
		{"signed with a negative count", "convo.tags", negativeThreads, sign(secret, negativeThreads), 400, 1, "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inbox := &memInbox{}
			s, m := newTestServer(t, inbox, secret)
			w := post(s, inbox, tt.event, tt.body, tt.signature)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", w.Code, tt.wantStatus, w.Body)
			}
			if got := len(inbox.snapshot()); got != tt.wantStored {
				t.Errorf("stored %d events, want %d", got, tt.wantStored)
			}
			for _, e := range inbox.snapshot() {
				if e.rejected != (tt.wantResult == resultMalformed) {
					t.Errorf("event kept with rejected=%v, want %v", e.rejected, tt.wantResult == resultMalformed)
				}
			}
			if tt.wantStatus == 200 && w.storedAtWrite != tt.wantStored {
				t.Errorf("response written with %d events stored, want %d before the answer", w.storedAtWrite, tt.wantStored)
			}
			if !strings.Contains(w.Body.String(), `"`) || w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("answer is not JSON: %q", w.Body)
			}
			label := tt.event
			if got := testutil.ToFloat64(m.WebhookEvents.WithLabelValues(label, tt.wantResult)); got != 1 {
				t.Errorf("webhook_events_total{event=%q,result=%q} = %v, want 1", label, tt.wantResult, got)
			}
		})
	}
}

// TestOversizedWebhookIsLogged: a refused delivery is said in the log, not
// only counted, since Help Scout may switch off a webhook whose deliveries
// keep failing.
func TestOversizedWebhookIsLogged(t *testing.T) {
	var logs bytes.Buffer
	inbox := &memInbox{}
	m := metrics.NewInstruments(prometheus.NewRegistry())
	s := New(Options{Metrics: m, WebhookSecret: secret, Inbox: inbox, MaxWebhookBytes: 64,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	big := `{"id":1,"subject":"` + strings.Repeat("x", 100) + `"}`
	if w := post(s, inbox, "convo.created", big, sign(secret, big)); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", w.Code)
	}
	for _, want := range []string{"level=WARN", "webhook body over the size limit", "event=convo.created", "limit_bytes=64"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestReplayedWebhookIsAcknowledgedOnly: a delivery the inbox already
// holds is answered 200, counted as a duplicate, and does not wake the
// processor: there is nothing new to do (issue 17, row 5).
func TestReplayedWebhookIsAcknowledgedOnly(t *testing.T) {
	inbox := &memInbox{}
	reg := prometheus.NewRegistry()
	m := metrics.NewInstruments(reg)
	wakes := 0
	s := New(Options{Metrics: m, WebhookSecret: secret, Inbox: inbox, WebhookReceived: func() { wakes++ }})
	for range 5 {
		if w := post(s, inbox, "convo.tags", convoBody, sign(secret, convoBody)); w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", w.Code)
		}
	}
	if got := len(inbox.snapshot()); got != 1 {
		t.Errorf("stored %d events, want 1", got)
	}
	if wakes != 1 {
		t.Errorf("processor woken %d times, want 1 (for the first delivery only)", wakes)
	}
	if got := testutil.ToFloat64(m.WebhookEvents.WithLabelValues("convo.tags", "duplicate")); got != 4 {
		t.Errorf(`webhook_events_total{result="duplicate"} = %v, want 4`, got)
	}
}

// TestEveryEventIsHandled posts each event helpscout knows: every one is
// stored for the mirror (the test ping is only answered) and counted under
// its own name, never as "other".
func TestEveryEventIsHandled(t *testing.T) {
	for _, event := range helpscout.Events() {
		t.Run(event, func(t *testing.T) {
			inbox := &memInbox{}
			s, m := newTestServer(t, inbox, secret)
			w := post(s, inbox, event, convoBody, sign(secret, convoBody))
			wantResult, wantStored := "stored", []storedEvent{{event: event, body: convoBody}}
			if event == helpscout.EventTest {
				wantResult, wantStored = "test", nil
			}
			if w.Code != http.StatusOK {
				t.Errorf("status %d (%s), want 200", w.Code, w.Body)
			}
			if got := inbox.snapshot(); len(got) != len(wantStored) || (len(got) == 1 && got[0] != wantStored[0]) {
				t.Errorf("inbox holds %+v, want %+v", got, wantStored)
			}
			if got := testutil.ToFloat64(m.WebhookEvents.WithLabelValues(event, wantResult)); got != 1 {
				t.Errorf("webhook_events_total{event=%q,result=%q} = %v, want 1", event, wantResult, got)
			}
		})
	}
}

func TestWebhookMalformedIsRecordedAsRejected(t *testing.T) {
	inbox := &memInbox{}
	s, _ := newTestServer(t, inbox, secret)
	post(s, inbox, "convo.created", `{"id":`, sign(secret, `{"id":`))
	ev := inbox.snapshot()
	if len(ev) != 1 || !ev[0].rejected || ev[0].reason == "" || ev[0].body != `{"id":` {
		t.Errorf("inbox = %+v, want one rejected event with its raw body and a reason", ev)
	}
}

func TestWebhooksDisabledWithoutSecret(t *testing.T) {
	inbox := &memInbox{}
	s, _ := newTestServer(t, inbox, "")
	// Even a body "signed" with the empty key must not get in.
	w := post(s, inbox, "convo.created", convoBody, sign("", convoBody))
	if w.Code != http.StatusNotFound {
		t.Errorf("status = %d, want 404", w.Code)
	}
	if n := len(inbox.snapshot()); n != 0 {
		t.Errorf("stored %d events with webhooks disabled", n)
	}
}

func TestWebhookStoreFailureIsNotAcknowledged(t *testing.T) {
	inbox := &memInbox{fail: errors.New("disk I/O error: /data/queuewrangler.db")}
	s, _ := newTestServer(t, inbox, secret)
	w := post(s, inbox, "convo.created", convoBody, sign(secret, convoBody))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503 so Help Scout retries", w.Code)
	}
	if strings.Contains(w.Body.String(), "/data") || strings.Contains(w.Body.String(), "disk") {
		t.Errorf("error body leaks internal detail: %s", w.Body)
	}
}

// TestWebhookOnDamagedDatabaseLoggedOnce: every delivery that meets a
// damaged database file is answered 503, so Help Scout delivers it again,
// but the log says it once, with the remedy, not once per delivery.
func TestWebhookOnDamagedDatabaseLoggedOnce(t *testing.T) {
	inbox := &memInbox{fail: fmt.Errorf("add webhook: %w: database disk image is malformed", store.ErrCorrupt)}
	var log testkit.LogBuffer
	s := New(Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), WebhookSecret: secret, Inbox: inbox})
	const deliveries = 5
	for i := range deliveries {
		if w := post(s, inbox, "convo.created", convoBody, sign(secret, convoBody)); w.Code != http.StatusServiceUnavailable {
			t.Errorf("delivery %d: status %d, want 503 so Help Scout delivers it again", i+1, w.Code)
		}
	}
	if n := len(inbox.snapshot()); n != 0 {
		t.Errorf("%d events stored on a damaged file", n)
	}
	var lines []string
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.Contains(l, `msg="store webhook`) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "level=ERROR") || !strings.Contains(lines[0], "restore it from a backup") {
		t.Errorf("%d deliveries on a damaged file logged %d lines, want one ERROR with the remedy:\n%s", deliveries, len(lines), strings.Join(lines, "\n"))
	}
}

func TestUnknownEventLabelIsBounded(t *testing.T) {
	inbox := &memInbox{}
	s, m := newTestServer(t, inbox, secret)
	post(s, inbox, "evil.<script>", convoBody, "bad")
	if got := testutil.ToFloat64(m.WebhookEvents.WithLabelValues("other", "unauthorized")); got != 1 {
		t.Errorf("unknown event not counted as other: %v", got)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	ready, reason := false, "first sync has not finished"
	s := New(Options{Ready: func() (bool, string) { return ready, reason }})
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w
	}
	if w := get("/healthz"); w.Code != 200 {
		t.Errorf("/healthz = %d", w.Code)
	}
	w := get("/readyz")
	if w.Code != 503 || !strings.Contains(w.Body.String(), reason) {
		t.Errorf("/readyz before ready = %d %s, want 503 with the reason", w.Code, w.Body)
	}
	ready = true
	if w := get("/readyz"); w.Code != 200 {
		t.Errorf("/readyz when ready = %d", w.Code)
	}
}
