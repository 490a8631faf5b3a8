package httpapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// readiness is a ReadinessFunc a test can flip, as the first sync ends.
type readiness struct{ done atomic.Bool }

func (r *readiness) ready() (bool, string) {
	if r.done.Load() {
		return true, ""
	}
	return false, "first sync: 75 of 2,000 conversations"
}

// TestPageSaysTheFirstSyncIsRunning: while the first sync runs, the page's
// counts cover only the conversations read so far ("Stuck 5" of an account
// with hundreds), so a first-day lead would take them for the queue. The
// page says so at the top, with /readyz's reason, and stops saying it
// once the daemon is ready.
func TestPageSaysTheFirstSyncIsRunning(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	var r readiness
	s := New(Options{Now: clock.Now, Ready: r.ready})
	s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour})

	body := pageGet(t, s, "/").Body.String()
	want := `<p class="banner notice" role="status" id="not-ready"><strong>Not ready:</strong> first sync: 75 of 2,000 conversations.`
	if !strings.Contains(body, want) {
		t.Fatalf("page during the first sync lacks %q", want)
	}
	if !strings.Contains(body, "the counts below cover only what the mirror holds so far") {
		t.Error("the banner does not say that the counts are partial")
	}
	if i, j := strings.Index(body, want), strings.Index(body, `<nav id="summary"`); i > j {
		t.Error("the banner is below the summary bar, not at the top")
	}

	r.done.Store(true)
	if body := pageGet(t, s, "/").Body.String(); strings.Contains(body, `id="not-ready"`) {
		t.Error("the banner stays once the daemon is ready")
	}
}

// TestPlanNowWaitsForTheFirstSync: the balancer's loop never plans from a
// half-read mirror, and neither may a run asked for by hand. An agent whose
// tickets are not read yet looks idle, so in apply mode the run would hand
// them others' customers. Page and API refuse and say why; once ready,
// both plan.
func TestPlanNowWaitsForTheFirstSync(t *testing.T) {
	t.Parallel()

	t.Run("page", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		w := newWorld(clock.Now)
		var r readiness
		s := New(Options{Now: clock.Now, Ready: r.ready})
		s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour, Mode: "apply"})
		cookie, csrf := pageLogin(t, s)

		rec := pagePost(t, s, "/plan", url.Values{"csrf": {csrf}}, cookie)
		if got, want := rec.Header().Get("Location"), "/#proposals"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		if w.plans != 0 {
			t.Fatalf("Plan now ran the balancer %d times during the first sync", w.plans)
		}
		want := "Nothing planned: not ready (first sync: 75 of 2,000 conversations). Plan now works once the daemon is ready."
		if body := pageGet(t, s, "/", cookie).Body.String(); !strings.Contains(body, want) {
			t.Errorf("page lacks the flash %q", want)
		}

		r.done.Store(true)
		pagePost(t, s, "/plan", url.Values{"csrf": {csrf}}, cookie)
		if w.plans != 1 {
			t.Errorf("Plan now once ready ran the balancer %d times, want 1", w.plans)
		}
	})

	t.Run("API", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		var r readiness
		d := &fakeDecider{}
		s := New(Options{Ready: r.ready, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Decider: d, AdminToken: adminToken})

		rec := do(s, "POST", "/api/v1/plan", "Bearer "+adminToken)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status = %d, want 503; body %s", rec.Code, rec.Body)
		}
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("answer is not JSON: %s", rec.Body)
		}
		if got, want := body["error"], "not ready, nothing planned: first sync: 75 of 2,000 conversations"; got != want {
			t.Errorf("error = %q, want %q", got, want)
		}
		if len(d.calls) != 0 {
			t.Errorf("the balancer ran during the first sync: %v", d.calls)
		}
		if rec := do(s, "POST", "/api/v1/plan", ""); rec.Code != http.StatusUnauthorized {
			t.Errorf("without a token during the first sync: status %d, want 401 (auth comes first)", rec.Code)
		}

		r.done.Store(true)
		if rec := do(s, "POST", "/api/v1/plan", "Bearer "+adminToken); rec.Code != http.StatusOK {
			t.Errorf("once ready: status = %d, want 200; body %s", rec.Code, rec.Body)
		}
		if len(d.calls) != 1 {
			t.Errorf("once ready the balancer ran %d times, want 1", len(d.calls))
		}
	})
}

// TestAPISaysTheFirstSyncIsRunning: the agents and conversations the API
// lists come from the mirror, which during the first sync holds only the
// conversations read so far; a tool polling the stuck list read a partial
// one as the queue. While not ready those answers carry "not_ready" with
// /readyz's reason, and drop it once ready.
func TestAPISaysTheFirstSyncIsRunning(t *testing.T) {
	t.Parallel()
	var r readiness
	s := New(Options{Ready: r.ready})
	s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Decider: &fakeDecider{}, StuckAfter: 4 * time.Hour})
	paths := []string{"/api/v1/agents", "/api/v1/conversations?state=stuck", "/api/v1/conversations?state=open"}
	read := func(path string) map[string]any {
		t.Helper()
		rec := do(s, "GET", path, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d; body %s", path, rec.Code, rec.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return body
	}
	for _, path := range paths {
		if got, want := read(path)["not_ready"], "first sync: 75 of 2,000 conversations"; got != want {
			t.Errorf("%s during the first sync: not_ready = %v, want %q", path, got, want)
		}
	}
	r.done.Store(true)
	for _, path := range paths {
		if got, ok := read(path)["not_ready"]; ok {
			t.Errorf("%s once ready: not_ready = %v, want no such key", path, got)
		}
	}
}
