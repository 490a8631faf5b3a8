package mirror_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// refuse answers 403 on one path and passes everything else to the fake.
func refuse(e *env, path string) { answer(e, path, http.StatusForbidden) }

// TestStatusesRefusedStillSyncs: an app user without the right to read
// user statuses gets 403 there. Conversations and the rest of the
// directory still sync, and the daemon becomes ready.
func TestStatusesRefusedStillSyncs(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 50})
	refuse(e, "/v2/users/status")
	m := e.mirror(mirror.Options{})
	st, err := m.SyncOnce(context.Background())
	if err != nil {
		t.Fatalf("sync with statuses refused: %v", err)
	}
	if ok, why := m.Ready(); !ok {
		t.Errorf("not ready: %s", why)
	}
	ids, err := e.db.ConversationIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 50 || st.Users == 0 {
		t.Errorf("mirrored %d conversations and %d users, want all 50 and the users", len(ids), st.Users)
	}
}

// TestDirectoryRefusedLaterKeepsSyncing: once a directory is stored, Help
// Scout refusing a later refresh does not stop conversations; the refresh
// is retried at the next poll. Before any directory, the sync fails: the
// balancer would otherwise take every assignee for a removed user.
func TestDirectoryRefusedLaterKeepsSyncing(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 4, Conversations: 20})
	refuse(e, "/v2/users")
	m := e.mirror(mirror.Options{DirectoryEvery: time.Minute})
	if _, err := m.SyncOnce(context.Background()); err == nil || !strings.Contains(err.Error(), "list users") {
		t.Fatalf("first sync without users: err %v, want the users listing's failure", err)
	}

	e2 := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 4, Conversations: 20})
	m2 := e2.mirror(mirror.Options{DirectoryEvery: time.Minute})
	syncOnce(t, m2)
	refuse(e2, "/v2/users")
	e2.clock.Advance(2 * time.Minute)
	c := e2.fake.Conversations()[0]
	if _, err := e2.fake.AddAgentReply(c.ID, helpscouttest.ThreadInput{Body: "hello", Status: helpscouttest.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	e2.clock.Advance(time.Minute)
	if _, err := m2.SyncOnce(context.Background()); err != nil {
		t.Fatalf("sync with the directory refused after a good one: %v", err)
	}
	got, _, err := e2.db.Conversation(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != helpscouttest.StatusClosed {
		t.Errorf("conversation %d is %s in the mirror, want the change made while the directory was refused", c.ID, got.Status)
	}
}

// TestStatusesRetriedAtNextPoll: presence decides who is away, so a
// statuses listing that failed (here one 503) is retried at the next poll,
// not after the directory's fifteen minutes.
func TestStatusesRetriedAtNextPoll(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 20})
	next := e.log.next
	failed := false
	e.log.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/users/status" && !failed {
			failed = true
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
	m := e.mirror(mirror.Options{DirectoryEvery: 15 * time.Minute})
	first := syncOnce(t, m)
	e.clock.Advance(2 * time.Minute)
	second := syncOnce(t, m)
	statuses, err := e.db.UserStatuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if first.Statuses != 0 || second.Statuses == 0 || len(statuses) == 0 {
		t.Errorf("statuses stored: first sync %d, second %d, in the store %d; want none, then all", first.Statuses, second.Statuses, len(statuses))
	}
}

// TestFailingDirectoryBacksOff: a directory that keeps failing was listed
// again at every poll, 5 to 15 requests each time (issue 17). Now each
// failure waits twice as long as the one before, up to the directory's own
// cadence, and a success brings that cadence back.
func TestFailingDirectoryBacksOff(t *testing.T) {
	const (
		poll  = 2 * time.Minute
		every = 15 * time.Minute
	)
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 4, Conversations: 20})
	m := e.mirror(mirror.Options{DirectoryEvery: every})
	syncOnce(t, m)
	refuse(e, "/v2/teams")

	var attempts []time.Duration // since the refusal began
	start := e.clock.Now()
	pollFor := func(d time.Duration) {
		for end := e.clock.Now().Add(d); e.clock.Now().Before(end); {
			e.clock.Advance(poll)
			e.log.reset()
			syncOnce(t, m)
			for _, u := range e.log.URLs() {
				if u.Path == "/v2/mailboxes" { // the directory's first listing
					attempts = append(attempts, e.clock.Now().Sub(start))
				}
			}
		}
	}
	pollFor(2 * time.Hour)
	var gaps []time.Duration
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, attempts[i]-attempts[i-1])
	}
	if len(attempts) > 12 {
		t.Errorf("%d directory refreshes in two hours of failures (every %s poll), want at most 12: gaps %v", len(attempts), poll, gaps)
	}
	for i, g := range gaps {
		if i > 0 && g < gaps[i-1] {
			t.Errorf("gap %d (%s) is shorter than the one before (%s): %v", i, g, gaps[i-1], gaps)
		}
		if g > every+poll {
			t.Errorf("gap %d is %s, beyond the directory's cadence %s: %v", i, g, every, gaps)
		}
	}
	if last := gaps[len(gaps)-1]; last < every {
		t.Errorf("the backoff never reached the directory's cadence: gaps %v", gaps)
	}
	t.Logf("directory refreshes while failing, minutes after the first failure: %v", attempts)

	// Help Scout answers again: the next try succeeds, and then the
	// directory is refreshed at its cadence.
	e.log.next = e.fake
	attempts = nil
	start = e.clock.Now()
	pollFor(time.Hour)
	if len(attempts) < 4 || len(attempts) > 5 {
		t.Errorf("after recovery, %d refreshes in an hour (at %v), want one every %s", len(attempts), attempts, every)
	}
}

// TestRateLimitedDirectoryIsSaidWithThePoll: in a storm of 429s the
// directory refresh met the limit as the poll did, and each failed try
// logged "directory refresh failed" beside the storm's one line for its
// polls. A refresh that fails on the limit alone is now left to the poll:
// said when the poll gets past it, or fails otherwise, and not when the
// poll meets the limit too.
func TestRateLimitedDirectoryIsSaidWithThePoll(t *testing.T) {
	tests := []struct {
		name       string
		directory  int // the status /v2/teams answers
		listing    int // the status /v2/conversations answers; 0 passes it to the fake
		wantSaid   bool
		wantSynced bool
	}{
		{"the poll gets through", http.StatusTooManyRequests, 0, true, true},
		{"the poll meets the limit too", http.StatusTooManyRequests, http.StatusTooManyRequests, false, false},
		{"the poll fails otherwise", http.StatusTooManyRequests, http.StatusForbidden, true, false},
		{"a refused directory is said as before", http.StatusForbidden, http.StatusTooManyRequests, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 4, Conversations: 20})
			var log testkit.LogBuffer
			m := e.mirror(mirror.Options{DirectoryEvery: 15 * time.Minute, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			syncOnce(t, m)
			answer(e, "/v2/teams", tc.directory)
			if tc.listing != 0 {
				answer(e, "/v2/conversations", tc.listing)
			}
			e.clock.Advance(15 * time.Minute)
			_, err := m.SyncOnce(context.Background())
			if synced := err == nil; synced != tc.wantSynced {
				t.Fatalf("SyncOnce: %v, want synced %v", err, tc.wantSynced)
			}
			if said := strings.Contains(log.String(), "directory refresh failed"); said != tc.wantSaid {
				t.Errorf("directory refresh failure said: %v, want %v; log:\n%s", said, tc.wantSaid, log.String())
			}
		})
	}
}

// answer answers status on one path and passes everything else to the
// fake; a 429 says when to retry, as Help Scout's do.
func answer(e *env, path string, status int) {
	next := e.log.next
	e.log.next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if status == http.StatusTooManyRequests {
			w.Header().Set("X-RateLimit-Retry-After", "30")
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"message":%q}`, http.StatusText(status))
	})
}
