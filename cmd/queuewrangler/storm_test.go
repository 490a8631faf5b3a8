package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/outbound"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// inProcess serves requests with a handler, without a network, so that
// the whole chain can run in a synctest bubble where waits take no time.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// TestHourLong429StormLogsFewLines runs the poller as serve wires it (the
// outbound chain with its failure log, the mirror every 2 minutes, info
// level) against the fake Help Scout answering every API request with 429
// for an hour, in a synctest bubble: an hour of backoffs takes no time.
// The log must hold 2 lines for the hour: the rate limit said once and the
// failed polls once, directory refreshes and all, at WARN, with no ERROR
// (nothing failed but the limit); once the storm ends,
// the next poll must sync everything that changed during it, and nothing
// is left in /readyz's cause (a 429 is pacing, not a failure).
func TestHourLong429StormLogsFewLines(t *testing.T) {
	// A failing poll retries for about 9 minutes (8 retries, waits capped
	// at 65 s) and gives up: 6-7 polls an hour, some with a directory
	// refresh that meets the limit too, said once for them all, and the
	// storm's one warning.
	const storm, poll, maxPerMinute, maxInTheHour = time.Hour, 2 * time.Minute, 2, 2
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		fake := helpscouttest.New(helpscouttest.Options{Seed: 3})
		defer fake.Close()
		acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 3, Conversations: 40})
		if err != nil {
			t.Fatal(err)
		}
		var logs testkit.LogBuffer
		logger := slog.New(slog.NewJSONHandler(&logs, nil))
		failures := outbound.NewFailures(logger.With("component", "helpscout"))
		const base = "http://helpscout.test"
		hs, err := helpscout.NewClient(outbound.NewClient(outbound.Options{BaseURL: base, ClientID: "demo",
			ClientSecret: "demo-secret", PerMinute: 200, Logger: logger, Failures: failures,
			Base: inProcess{fake}})).WithBaseURL(base)
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(ctx, filepath.Join(t.TempDir(), "qw.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		mir := mirror.New(hs, db, mirror.Options{Logger: logger.With("component", "mirror")})
		var wg sync.WaitGroup
		wg.Go(func() { _ = mir.Run(ctx, poll) })
		defer func() {
			cancel()
			wg.Wait()
		}()

		synctest.Wait() // the first sync is done; the mirror waits for its next poll
		if ok, why := mir.Ready(); !ok {
			t.Fatalf("not ready before the storm: %s", why)
		}
		start, listed := time.Now(), fake.Stats().Requests[helpscouttest.RouteListMailboxes]
		fake.SetFaults(helpscouttest.Faults{StormFor: storm})
		// Help Scout keeps changing while nothing gets through.
		for i := range 6 {
			time.Sleep(storm / 6)
			if _, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: acct.Mailboxes[0],
				CustomerID: acct.Customers[i], Subject: "during the storm", At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		end := time.Now()
		refreshes := fake.Stats().Requests[helpscouttest.RouteListMailboxes] - listed // tries, retries included
		// The storm is over; the chain's longest wait (65 s) and a poll later
		// the mirror has caught up.
		time.Sleep(2*poll + 2*time.Minute)
		synctest.Wait()

		perMinute := map[int64]int{}
		var during, after []string
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var rec struct {
				Time  time.Time `json:"time"`
				Level string    `json:"level"`
				Msg   string    `json:"msg"`
			}
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			if !rec.Time.After(start) { // the first sync, said as the storm began
				continue
			}
			perMinute[int64(rec.Time.Sub(start)/time.Minute)]++
			if rec.Time.Before(end) {
				during = append(during, rec.Level+" "+rec.Msg)
			} else {
				after = append(after, rec.Level+" "+rec.Msg)
			}
		}
		busiest := 0
		for _, n := range perMinute {
			busiest = max(busiest, n)
		}
		t.Logf("an hour of 429s (%d answered, %d of them to the directory refresh): %d log lines during it, at most %d in a minute; %d after:\n%s\nafter:\n%s",
			fake.Stats().StormRejections, refreshes, len(during), busiest, len(after), strings.Join(during, "\n"), strings.Join(after, "\n"))
		if busiest > maxPerMinute {
			t.Errorf("%d log lines in one minute of the storm, want at most %d", busiest, maxPerMinute)
		}
		if len(during) > maxInTheHour {
			t.Errorf("%d log lines during the hour's storm, want at most %d", len(during), maxInTheHour)
		}
		if n := strings.Count(strings.Join(during, "\n"), "Help Scout's rate limit is reached"); n != 1 {
			t.Errorf("the rate limit was said %d times during one storm, want once", n)
		}
		// A poll that gives up on 429s alone is part of the storm, not a
		// failure: said once, at WARN, never at ERROR; so is its directory
		// refresh when that meets the limit too.
		if n := strings.Count(strings.Join(during, "\n"), "WARN sync failed"); n != 1 {
			t.Errorf("the polls the storm failed were said %d times, want once", n)
		}
		if n := strings.Count(strings.Join(during, "\n"), "directory refresh failed"); n != 0 {
			t.Errorf("the directory refreshes the storm failed were said %d times beside the polls' line, want none", n)
		}
		if refreshes == 0 {
			t.Error("no directory refresh met the storm: the test no longer exercises it")
		}
		for _, line := range during {
			if strings.HasPrefix(line, "ERROR ") {
				t.Errorf("an ERROR in a pure rate-limit storm: %s", line)
			}
		}
		if fake.Stats().StormRejections == 0 {
			t.Fatal("the storm rejected nothing: the test no longer exercises it")
		}
		if ok, why := mir.Ready(); !ok {
			t.Errorf("not ready after the storm: %s", why)
		}
		if cause := failures.Last(); cause != "" {
			t.Errorf("/readyz keeps a cause after the storm: %q", cause)
		}
		if !strings.Contains(strings.Join(after, "\n"), "INFO sync done") {
			t.Errorf("no sync succeeded after the storm")
		}
		assertStoreMirrorsFake(t, db, fake)
	})
}
