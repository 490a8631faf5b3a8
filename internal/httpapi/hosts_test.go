package httpapi

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Issue 17, row 9: with QW_ALLOWED_HOSTS set, a request naming another
// host (DNS rebinding) gets 421 on every route but the health probes.
func TestAllowedHosts(t *testing.T) {
	t.Parallel()
	s := New(Options{Gatherer: prometheus.NewRegistry(),
		AllowedHosts: []string{"queue.example.com", "10.0.0.5:8080", "[::1]"}})
	s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Decider: &fakeDecider{}, StuckAfter: 4 * time.Hour})
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"queue.example.com", "/api/v1/agents", 200},
		{"Queue.Example.COM:8080", "/api/v1/agents", 200}, // no port listed: any port
		{"queue.example.com.", "/metrics", 200},
		{"10.0.0.5:8080", "/metrics", 200},
		{"[::1]:8080", "/metrics", 200},
		{"10.0.0.5:9090", "/metrics", 421}, // a port listed: only that one
		{"10.0.0.5", "/metrics", 421},
		{"attacker.example", "/api/v1/agents", 421},
		{"attacker.example", "/metrics", 421},
		{"attacker.example", "/webhooks/helpscout", 421},
		{"attacker.example", "/nowhere", 421},
		{"", "/api/v1/agents", 421},
		// Orchestrator probes address the container by IP.
		{"172.17.0.3:8080", "/healthz", 200},
		{"172.17.0.3:8080", "/readyz", 200},
	} {
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		req.Host = tc.host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("GET %s with Host %q: %d, want %d (%s)", tc.path, tc.host, w.Code, tc.want, w.Body)
		}
	}
}

func TestAnyHostWhenNoneListed(t *testing.T) {
	t.Parallel()
	s := New(Options{Gatherer: prometheus.NewRegistry()})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Host = "whatever.example:1234"
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Errorf("status %d, want 200: an empty list answers any Host, as before", w.Code)
	}
}

// Issue 17, row 9: the JSON API is never cached.
func TestAPIIsNotCached(t *testing.T) {
	t.Parallel()
	s, _ := newAPIServer(t, adminToken, &bytes.Buffer{})
	for _, path := range []string{"/api/v1/agents", "/api/v1/conversations", "/api/v1/proposals", "/api/v1/nowhere"} {
		w := do(s, http.MethodGet, path, "")
		if got := w.Header().Get("Cache-Control"); got != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", path, got)
		}
	}
	if w := do(s, http.MethodPost, "/api/v1/plan", "Bearer "+adminToken); w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("POST /api/v1/plan: Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
	}
}

// TestNewWarnsOfWhatIsLeftOpen: New says once, at start, when webhooks are
// off and when any Host is answered, and says nothing when neither is.
func TestNewWarnsOfWhatIsLeftOpen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		opts   Options
		warned []string
	}{
		{"both", Options{}, []string{"webhooks disabled", "QW_ALLOWED_HOSTS is empty"}},
		{"neither", Options{WebhookSecret: "s3cret-for-the-hook", AllowedHosts: []string{"queue.example.com"}}, nil},
	} {
		var logs bytes.Buffer
		tc.opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		New(tc.opts)
		if n := strings.Count(logs.String(), "level=WARN"); n != len(tc.warned) {
			t.Errorf("%s: %d warnings, want %d:\n%s", tc.name, n, len(tc.warned), logs.String())
		}
		for _, w := range tc.warned {
			if !strings.Contains(logs.String(), w) {
				t.Errorf("%s: no warning %q:\n%s", tc.name, w, logs.String())
			}
		}
		if strings.Contains(logs.String(), "s3cret-for-the-hook") {
			t.Errorf("%s: the secret is in the log", tc.name)
		}
	}
}
