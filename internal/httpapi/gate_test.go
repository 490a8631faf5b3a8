package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// answer is one request's status and JSON body.
type answer struct {
	Code int
	Body map[string]string
}

func ask(t *testing.T, h http.Handler, method, path string) answer {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, w.Body, err)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return answer{w.Code, body}
}

// TestGateWhileStarting: a daemon that cannot open its database is alive
// (healthz 200), not ready (readyz 503 with the reason), and refuses the
// rest with 503 so that Help Scout delivers its webhooks again later.
func TestGateWhileStarting(t *testing.T) {
	g := NewGate("the database is not open yet")
	tests := []struct {
		method, path string
		want         answer
	}{
		{http.MethodGet, "/healthz", answer{200, map[string]string{"status": "ok"}}},
		{http.MethodGet, "/readyz", answer{503, map[string]string{"status": "not ready", "reason": "the database is not open yet"}}},
		{http.MethodPost, "/webhooks/helpscout", answer{503, map[string]string{"error": "starting: the database is not open yet"}}},
		{http.MethodGet, "/metrics", answer{503, map[string]string{"error": "starting: the database is not open yet"}}},
		{http.MethodGet, "/", answer{503, map[string]string{"error": "starting: the database is not open yet"}}},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if d := cmp.Diff(ask(t, g, tc.method, tc.path), tc.want); d != "" {
				t.Errorf("(-got +want):\n%s", d)
			}
		})
	}

	g.NotReady("the database cannot take writes")
	if got, want := ask(t, g, http.MethodGet, "/readyz").Body["reason"], "the database cannot take writes"; got != want {
		t.Errorf("reason after NotReady %q, want %q", got, want)
	}

	g.Open(New(Options{Ready: func() (bool, string) { return true, "" }}))
	if d := cmp.Diff(ask(t, g, http.MethodGet, "/readyz"), answer{200, map[string]string{"status": "ready"}}); d != "" {
		t.Errorf("/readyz after Open (-got +want):\n%s", d)
	}
	if got := ask(t, g, http.MethodGet, "/nope").Code; got != http.StatusNotFound {
		t.Errorf("unknown path after Open: %d, want the full server's 404", got)
	}
}

func TestDashboardAndAlertFiles(t *testing.T) {
	dashboard, rules := []byte(`{"title":"queuewrangler"}`), []byte("groups: []\n")
	s := New(Options{Dashboard: dashboard, AlertRules: rules})
	for _, tc := range []struct {
		path, contentType string
		want              []byte
	}{
		{"/dashboards/queuewrangler.json", "application/json", dashboard},
		{"/alerts.yml", "application/yaml", rules},
	} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != 200 || w.Header().Get("Content-Type") != tc.contentType || w.Body.String() != string(tc.want) {
			t.Errorf("GET %s: %d %q %q, want 200 %q %q", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body, tc.contentType, tc.want)
		}
		if got := ask(t, New(Options{}), http.MethodGet, tc.path).Code; got != http.StatusNotFound {
			t.Errorf("GET %s without the file: %d, want 404", tc.path, got)
		}
	}
}

// TestStartServesUntilStop: the daemon's intake answers from Start until
// Stop, and a server that fails on its own says so through Done and Err.
func TestStartServesUntilStop(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Start(ln, NewGate("starting"), slog.New(slog.DiscardHandler), time.Second)
	// After Stop the port is free, and a server another test starts on
	// port 0 may be given it: a new connection could reach that server,
	// so after Stop the client may only reuse the connection it kept.
	var stopped atomic.Bool
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if stopped.Load() {
			return nil, errors.New("no new connection after Stop")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) // read to the end, so that the client keeps the connection
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d while serving, want 200", resp.StatusCode)
	}
	select {
	case <-s.Done():
		t.Fatal("Done before Stop")
	default:
	}
	s.Stop()
	s.Stop() // a second Stop is harmless
	if err := s.Err(); err != nil {
		t.Errorf("Err after a clean Stop = %v", err)
	}
	stopped.Store(true)
	if _, err := client.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("still answering after Stop on the connection kept alive")
	}
	// Closed, Accept says so at once; open, the deadline ends the wait.
	_ = ln.(*net.TCPListener).SetDeadline(time.Now())
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the listener is open after Stop: Accept = %v", err)
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	failed := Start(closed, NewGate("starting"), slog.New(slog.DiscardHandler), time.Second)
	<-failed.Done()
	if failed.Err() == nil {
		t.Error("a server on a closed listener stopped with no error")
	}
}

// A stop whose grace runs out with a request still running is the daemon's
// budget at work, not a failure: said at INFO, once, not as a WARN of
// "context deadline exceeded".
func TestStopSaysTheRequestsItDoesNotWaitFor(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	running, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	held := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(running)
		<-release
	})
	var logs testkit.LogBuffer
	s := Start(ln, held, slog.New(slog.NewTextHandler(&logs, nil)), 50*time.Millisecond)
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-running
	s.Stop()
	said := logs.String()
	if !strings.Contains(said, "level=INFO") || !strings.Contains(said, "not waited for") || strings.Contains(said, "level=WARN") {
		t.Errorf("the grace running out with a request in flight was said as:\n%s", said)
	}
}
