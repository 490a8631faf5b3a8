package httpapi

import (
	"bytes"
	"encoding/json"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
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
// one as the queue. The proposals are the store's whole audit log, but a
// pending one's ticket_gone and receiver_unfit are read from that same
// partial mirror (a ticket not read yet is "no longer" where the move takes
// it from), and that answer said nothing of it. While not ready all three
// answers carry "not_ready" with /readyz's reason, and drop it once ready.
func TestAPISaysTheFirstSyncIsRunning(t *testing.T) {
	t.Parallel()
	var r readiness
	s := New(Options{Ready: r.ready})
	s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Decider: &fakeDecider{}, StuckAfter: 4 * time.Hour})
	paths := []string{"/api/v1/agents", "/api/v1/conversations?state=stuck", "/api/v1/conversations?state=open",
		"/api/v1/proposals", "/api/v1/proposals?status=pending", "/api/v1/proposals?status=applied"}
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

// outage is a daemon restarted while Help Scout is down: not ready, with
// /readyz's reason, while the mirror holds the whole queue as of asOf.
type outage struct {
	asOf      time.Time
	inherited bool
	readiness
}

func (o *outage) ready() (bool, string) {
	if o.done.Load() {
		return true, ""
	}
	// The mirror's words (mirror.Mirror.Ready): on a queue an earlier
	// process synced, no sync has completed since the restart.
	pending := "the first sync has not finished"
	if o.inherited && !o.asOf.IsZero() {
		pending = "no sync has completed since the restart"
	}
	return false, pending + "; its last attempt failed, see the log; the latest Help Scout call failed: 503 Service Unavailable"
}

func (o *outage) queueAsOf() (time.Time, bool) { return o.asOf, o.inherited }

// readyzReason is /readyz's reason, which the page and the API repeat.
func readyzReason(t *testing.T, s http.Handler) string {
	t.Helper()
	rec := do(s, "GET", "/readyz", "")
	var body struct{ Reason string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz: status %d, %v; body %s", rec.Code, err, rec.Body)
	}
	return body.Reason
}

// TestPageSaysAStaleQueueIsWhole: after a restart while Help Scout is
// down, the mirror holds the whole queue as of its last completed sync,
// yet the page said its counts covered only what was read so far: an SST
// was told the queue was incomplete and not how old it was. The banner
// now says the queue is whole, as of when, and that nothing is planned or
// moved meanwhile; a first sync under way keeps the partial banner
// (TestPageSaysTheFirstSyncIsRunning).
func TestPageSaysAStaleQueueIsWhole(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		inherited bool
		say       string
	}{
		// The reason says no sync has completed since the restart
		// (TestReadyzSaysNoSyncSinceTheRestart); the banner does not say
		// it twice.
		{"restarted", true, "The queue below is the mirror's as of its last completed sync, "},
		{"synced in this process", false, "The queue below is the mirror's as of its last completed sync, "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			asOf := clock.Now().Add(-47 * time.Minute)
			o := &outage{asOf: asOf, inherited: tt.inherited}
			s := New(Options{Now: clock.Now, Ready: o.ready, QueueAsOf: o.queueAsOf})
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour})

			body := pageGet(t, s, "/").Body.String()
			why := readyzReason(t, s)
			abs := asOf.UTC().Format("15:04 MST")
			want := `<p class="banner notice" role="status" id="not-ready"><strong>Not ready:</strong> ` + why + `. ` + tt.say +
				`<time datetime="` + asOf.UTC().Format(time.RFC3339) + `" title="` + abs + `">47m ago</time> <span class="abs">(` + abs + `)</span>: ` +
				`every ticket is in it, but what changed in Help Scout since is not. ` +
				`Until a sync completes, the balancer plans and moves nothing, and Plan now is refused.</p>`
			if !strings.Contains(body, want) {
				t.Errorf("page while Help Scout is down lacks\n%s", want)
			}
			if strings.Contains(body, "cover only what the mirror holds so far") {
				t.Error("the page calls the whole queue partial")
			}
			if !tt.inherited && strings.Contains(body, "since the restart") {
				t.Error("the banner speaks of a restart, though a sync completed in this process")
			}
			cookie, csrf := pageLogin(t, s)
			pagePost(t, s, "/plan", url.Values{"csrf": {csrf}}, cookie)
			if w.plans != 0 {
				t.Errorf("Plan now on a stale queue ran the balancer %d times; the banner says it is refused", w.plans)
			}

			o.done.Store(true)
			if body := pageGet(t, s, "/").Body.String(); strings.Contains(body, `id="not-ready"`) {
				t.Error("the banner stays once the daemon is ready")
			}
		})
	}
}

// TestAPISaysAStaleQueueIsWhole: the API says what the page says, for a
// tool: "not_ready" keeps /readyz's meaning, and "queue_as_of" says the
// queue is whole and when the sync it is began; a partial mirror has no
// such time, and neither key is there once ready. Planning stays refused
// while not ready: moves made on a stale queue act on tickets as they were.
func TestAPISaysAStaleQueueIsWhole(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 11, 24, 8, 13, 0, 0, time.FixedZone("CET", 3600))
	for _, tt := range []struct {
		name string
		asOf time.Time
		want any // queue_as_of; nil: no such key
	}{
		{"whole but stale", asOf, "2026-11-24T07:13:00Z"},
		{"partial", time.Time{}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := &outage{asOf: tt.asOf, inherited: true}
			d := &fakeDecider{}
			s := New(Options{Ready: o.ready, QueueAsOf: o.queueAsOf})
			s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Decider: d, AdminToken: adminToken, StuckAfter: 4 * time.Hour})
			read := func(path string) map[string]any {
				t.Helper()
				rec := do(s, "GET", path, "")
				var body map[string]any
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
					t.Fatalf("%s: status %d, %v; body %s", path, rec.Code, err, rec.Body)
				}
				return body
			}
			why := readyzReason(t, s)
			for _, path := range []string{"/api/v1/agents", "/api/v1/conversations?state=stuck", "/api/v1/proposals"} {
				body := read(path)
				if got := body["not_ready"]; got != why {
					t.Errorf("%s: not_ready = %v, want %q", path, got, why)
				}
				if got := body["queue_as_of"]; got != tt.want {
					t.Errorf("%s: queue_as_of = %v, want %v", path, got, tt.want)
				}
			}
			if rec := do(s, "POST", "/api/v1/plan", "Bearer "+adminToken); rec.Code != http.StatusServiceUnavailable || len(d.calls) != 0 {
				t.Errorf("plan while not ready: status %d, balancer runs %d; want 503 and none", rec.Code, len(d.calls))
			}

			o.done.Store(true)
			for _, path := range []string{"/api/v1/agents", "/api/v1/proposals"} {
				body := read(path)
				for _, key := range []string{"not_ready", "queue_as_of"} {
					if got, ok := body[key]; ok {
						t.Errorf("%s once ready: %s = %v, want no such key", path, key, got)
					}
				}
			}
		})
	}
}

// TestReadyzSaysNoSyncSinceTheRestart: after a restart while Help Scout
// is down, /readyz said "the first sync has not finished" while the page
// beside it said the queue was whole, as of the earlier process's last
// sync: an operator reading the orchestrator's probe took the mirror for
// half-read. The reason now says what is true, and /readyz, the page and
// the API say the same one. A mirror whose first sync is still to come
// (no queue to inherit), or one that synced in this process, keeps its
// reason.
func TestReadyzSaysNoSyncSinceTheRestart(t *testing.T) {
	t.Parallel()
	const failed = "; its last attempt failed, see the log; the latest Help Scout call failed: 503 Service Unavailable"
	asOf := time.Date(2026, 11, 24, 7, 13, 0, 0, time.UTC)
	for _, tt := range []struct {
		name      string
		asOf      time.Time
		inherited bool
		want      string
	}{
		{"restarted on a synced mirror", asOf, true, "no sync has completed since the restart" + failed},
		{"new mirror", time.Time{}, false, "the first sync has not finished" + failed},
		{"synced in this process", asOf, false, "the first sync has not finished" + failed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			o := &outage{asOf: tt.asOf, inherited: tt.inherited}
			s := New(Options{Now: clock.Now, Ready: o.ready, QueueAsOf: o.queueAsOf})
			s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Decider: &fakeDecider{}, AdminToken: adminToken, StuckAfter: 4 * time.Hour})
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour})

			if got := readyzReason(t, s); got != tt.want {
				t.Errorf("/readyz reason = %q, want %q", got, tt.want)
			}
			var agents map[string]any
			if err := json.Unmarshal(do(s, "GET", "/api/v1/agents", "").Body.Bytes(), &agents); err != nil {
				t.Fatal(err)
			}
			if got := agents["not_ready"]; got != tt.want {
				t.Errorf("/api/v1/agents not_ready = %v, want /readyz's %q", got, tt.want)
			}
			if rec := do(s, "POST", "/api/v1/plan", "Bearer "+adminToken); !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("plan refused with %s, want /readyz's reason", rec.Body)
			}
			body := pageGet(t, s, "/").Body.String()
			if want := `<strong>Not ready:</strong> ` + html.EscapeString(tt.want) + `. `; !strings.Contains(body, want) {
				t.Errorf("the page's banner lacks /readyz's reason %q", want)
			}
			if n := strings.Count(strings.ToLower(body), "no sync has completed since the restart"); tt.inherited && n != 1 {
				t.Errorf("the page says %d times that no sync has completed since the restart, want once", n)
			}
		})
	}
}

// damagedInbox is the daemon's store as the inbox: it holds the file
// damaged once any reader has met the damage.
type damagedInbox struct{ memInbox }

// The daemon's inbox is its store, which says whether it holds the file
// damaged: without this the page would not know once /readyz's reason
// has moved on from the damage.
var _ damageHolder = (*store.DB)(nil)

func (*damagedInbox) HeldDamaged() bool { return true }

// TestPageSaysTheDatabaseIsDamaged: with the database file damaged the
// page said, as during a first sync, that its counts covered only "what
// the mirror holds so far" and that "a ticket not yet read" was missing:
// an SST waited for a sync that would never complete. The banner now says
// the file is damaged, that what follows is what can still be read, and
// that nothing is planned until the file is restored or re-synced; also
// once a later failure (Help Scout down) has become /readyz's reason.
func TestPageSaysTheDatabaseIsDamaged(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		why   string
		inbox Inbox
	}{
		{"found by a sync", store.ErrCorruptReason, &memInbox{}},
		{"then Help Scout fails", "the latest sync failed, see the log", &damagedInbox{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			ready := func() (bool, string) { return false, tt.why }
			// A damaged file gives no time of a whole queue (mirror.QueueAsOf).
			asOf := func() (time.Time, bool) { return time.Time{}, false }
			s := New(Options{Now: clock.Now, Ready: ready, QueueAsOf: asOf, Inbox: tt.inbox})
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour})

			body := pageGet(t, s, "/").Body.String()
			want := `<p class="banner error" role="alert" id="not-ready"><strong>Not ready:</strong> ` + html.EscapeString(tt.why) + `. ` +
				`What follows is what can still be read from the file: a part that cannot be read says so, and the counts miss any ticket kept in a damaged part. ` +
				`Until the file is restored or re-synced, the balancer plans and moves nothing, and Plan now is refused.</p>`
			if !strings.Contains(body, want) {
				t.Errorf("page with a damaged database lacks\n%s", want)
			}
			for _, wrong := range []string{"what the mirror holds so far", "not yet read", "every ticket is in it"} {
				if strings.Contains(body, wrong) {
					t.Errorf("page with a damaged database says %q", wrong)
				}
			}
		})
	}
}

// TestPageSaysWhenItSyncedWithHelpScout: a Help Scout outage after a
// completed sync leaves the daemon ready (the mirror is still a faithful
// copy of that sync; the freshness alert covers it in Grafana), so the
// page had no banner and said "As of" the time it was rendered: an SST
// without Grafana read an hour-old queue as the present one. The header
// now says when the queue was read from Help Scout; the not-ready banner
// says it while not ready, and a mirror with no whole queue (a damaged
// file) gives no time.
func TestPageSaysWhenItSyncedWithHelpScout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		asOf time.Duration // before now; 0: no time
		want string        // "" = no such line
	}{
		{"synced an hour ago", time.Hour,
			`<span id="synced">Synced with Help Scout <time datetime="2026-11-24T14:00:00Z" title="14:00 UTC">1h ago</time> <span class="abs">(14:00 UTC)</span></span>`},
		{"no whole queue", 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			asOf := func() (time.Time, bool) {
				if tt.asOf == 0 {
					return time.Time{}, false
				}
				return clock.Now().Add(-tt.asOf), false
			}
			ready := func() (bool, string) { return true, "" }
			s := New(Options{Now: clock.Now, Ready: ready, QueueAsOf: asOf})
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour})
			body := pageGet(t, s, "/").Body.String()
			switch {
			case tt.want == "" && strings.Contains(body, `id="synced"`):
				t.Error("the page gives a sync time without a whole queue")
			case tt.want != "" && !strings.Contains(body, tt.want):
				t.Errorf("the page's header lacks\n%s", tt.want)
			}
			if strings.Contains(body, `id="not-ready"`) {
				t.Error("a ready daemon's page has the not-ready banner")
			}
		})
	}
}
