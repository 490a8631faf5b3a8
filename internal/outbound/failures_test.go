package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

func TestFailureCause(t *testing.T) {
	t.Parallel()
	get := func(path string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, "https://api.helpscout.net"+path, nil)
		return r
	}
	post := func(path string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "https://api.helpscout.net"+path, nil)
		return r
	}
	status := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	tests := []struct {
		name string
		req  *http.Request
		resp *http.Response
		err  error
		want string
	}{
		{"unknown host", get("/v2/users"), nil, &net.OpError{Op: "dial", Err: &net.DNSError{Name: "api.helpscout.exmaple", Err: "no such host", IsNotFound: true}},
			`Help Scout cannot be reached: the host "api.helpscout.exmaple" is not known (check QW_HELPSCOUT_API_URL)`},
		{"refused", get("/v2/users"), nil, &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
			"Help Scout cannot be reached: https://api.helpscout.net refused the connection (check QW_HELPSCOUT_API_URL)"},
		{"slow", get("/v2/conversations"), nil, fmt.Errorf("read: %w", context.DeadlineExceeded),
			"Help Scout did not answer GET https://api.helpscout.net/v2/conversations within 1m0s"},
		{"other transport error", get("/v2/users"), nil, errors.New("tls: handshake failure"),
			"Help Scout cannot be reached at https://api.helpscout.net: tls: handshake failure"},
		{"wrong credentials", post("/v2/oauth2/token"), status(401), nil,
			"Help Scout refused the app's credentials (HTTP 401 from /v2/oauth2/token): check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET"},
		{"not Help Scout", post("/v2/oauth2/token"), status(404), nil,
			"https://api.helpscout.net answered HTTP 404 for /v2/oauth2/token: is QW_HELPSCOUT_API_URL Help Scout's API?"},
		// A base URL ending in /v2/ asked /v2/v2/oauth2/token: the
		// message named the constant path, hiding the doubled /v2.
		{"wrong credentials at another path", post("/v2/v2/oauth2/token"), status(401), nil,
			"Help Scout refused the app's credentials (HTTP 401 from /v2/v2/oauth2/token): check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET"},
		{"not Help Scout at another path", post("/api/v2/oauth2/token"), status(404), nil,
			"https://api.helpscout.net answered HTTP 404 for /api/v2/oauth2/token: is QW_HELPSCOUT_API_URL Help Scout's API?"},
		{"server error", get("/v2/conversations"), status(503), nil, "Help Scout answered HTTP 503 to GET /v2/conversations"},
		{"expired token is routine", get("/v2/conversations"), status(401), nil, ""},
		{"deleted conversation is routine", get("/v2/conversations/7"), status(404), nil, ""},
		{"rate limit is routine", post("/v2/oauth2/token"), status(429), nil, ""},
		{"success", get("/v2/users"), status(200), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := failureCause(tt.req, tt.resp, tt.err); got != tt.want {
				t.Errorf("cause = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFailuresLogFirstAttempt: the first failed attempt is logged at WARN
// before any retry, once per run of failures, and a success clears it.
func TestFailuresLogFirstAttempt(t *testing.T) {
	t.Parallel()
	var fail atomic.Bool
	fail.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"t","token_type":"bearer","expires_in":7200}`)
	}))
	defer ts.Close()
	var logs bytes.Buffer
	f := NewFailures(slog.New(slog.NewTextHandler(&logs, nil)))
	c := NewClient(Options{BaseURL: ts.URL, ClientID: "id", ClientSecret: "very-secret-value", PerMinute: 1000, Failures: f, RetryMax: 1, MaxWait: 1})
	resp, err := c.Get(ts.URL + "/v2/users")
	if err == nil {
		resp.Body.Close()
		t.Fatal("the call succeeded against a server that is not Help Scout")
	}
	want := ts.URL + " answered HTTP 404 for /v2/oauth2/token: is QW_HELPSCOUT_API_URL Help Scout's API?"
	if got := f.Last(); got != want {
		t.Errorf("Last() = %q, want %q", got, want)
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"help scout call failed; not retrying\""); n != 1 {
		t.Errorf("%d WARN lines, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), "very-secret-value") {
		t.Error("the client secret is in the log")
	}
	fail.Store(false)
	if resp, err := c.Get(ts.URL + "/v2/users"); err == nil {
		resp.Body.Close()
	}
	if got := f.Last(); got != "" {
		t.Errorf("after a success Last() = %q, want \"\"", got)
	}
}

// TestFailuresLogWhatFollows: the warning says whether the failed call is
// retried, and when it is not, why; it used to say "retrying" for answers
// that are never retried, such as refused credentials.
func TestFailuresLogWhatFollows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		token  int   // the token endpoint's status
		api    []int // the API's status for each attempt in turn; then 200
		want   string
		// tokenCalls and apiCalls are the requests the server saw: how
		// many retries were made, whatever the log says.
		tokenCalls, apiCalls int
	}{
		{"5xx is retried", http.MethodGet, 200, []int{503},
			`level=WARN msg="help scout call failed; retrying" cause="Help Scout answered HTTP 503 to GET /v2/users"`, 1, 2},
		{"401 from the token endpoint is not", http.MethodGet, 401, nil,
			`level=WARN msg="help scout call failed; not retrying" cause="Help Scout refused the app's credentials (HTTP 401 from /v2/oauth2/token): check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET" why="` + notRetriedRefused + `"`, 1, 0},
		{"5xx to a note is not", http.MethodPost, 200, []int{503},
			`level=WARN msg="help scout call failed; not retrying" cause="Help Scout answered HTTP 503 to POST /v2/users" why="` + notRetriedNote + `"`, 1, 1},
		{"5xx on the last attempt is not", http.MethodGet, 200, []int{429, 503},
			`level=WARN msg="help scout call failed; not retrying" cause="Help Scout answered HTTP 503 to GET /v2/users" why="` + notRetriedNoneLeft + `"`, 1, 2},
		{"429 is pacing, not a failure", http.MethodGet, 200, []int{429}, "", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tokenCalls, apiCalls atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == tokenPath {
					tokenCalls.Add(1)
					if tt.token != http.StatusOK {
						w.WriteHeader(tt.token)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"access_token":"issued-token-value","token_type":"bearer","expires_in":7200}`)
					return
				}
				if n := int(apiCalls.Add(1)); n <= len(tt.api) {
					w.WriteHeader(tt.api[n-1])
				}
			}))
			defer ts.Close()
			var logs bytes.Buffer
			f := NewFailures(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: dropTime})))
			c := NewClient(Options{BaseURL: ts.URL, ClientID: "id", ClientSecret: "very-secret-value", PerMinute: 1000, Failures: f, RetryMax: 1, MaxWait: 1})
			req, err := http.NewRequest(tt.method, ts.URL+"/v2/users", strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			if got, want := strings.TrimSpace(logs.String()), tt.want; got != want {
				t.Errorf("log:\n%s\nwant:\n%s", got, want)
			}
			if got, want := [2]int64{tokenCalls.Load(), apiCalls.Load()}, [2]int64{int64(tt.tokenCalls), int64(tt.apiCalls)}; got != want {
				t.Errorf("token and API requests = %v, want %v", got, want)
			}
		})
	}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// scriptedHelpScout answers every attempt without a network: the token
// endpoint with a token, the API with whatever answer says for the n-th
// API attempt (a status, or 0 for a transport error), and it counts the
// failures it handed out by kind.
type scriptedHelpScout struct {
	answer func(n int) (status int, retryAfter string)

	mu     sync.Mutex
	n      int
	failed map[string]int
}

func (s *scriptedHelpScout) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	if req.URL.Path == tokenPath {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Request: req,
			Body: io.NopCloser(strings.NewReader(`{"access_token":"scripted-access-token","token_type":"bearer","expires_in":7200}`))}, nil
	}
	s.mu.Lock()
	status, retryAfter := s.answer(s.n)
	s.n++
	if status == 0 || status/100 == 5 {
		kind := "transport"
		if status != 0 {
			kind = strconv.Itoa(status)
		}
		s.failed[kind]++
	}
	s.mu.Unlock()
	if status == 0 {
		return nil, errors.New("connection reset by peer")
	}
	h := http.Header{}
	if retryAfter != "" {
		h.Set("X-RateLimit-Retry-After", retryAfter)
	}
	return &http.Response{StatusCode: status, Header: h, Request: req, Body: io.NopCloser(strings.NewReader("{}"))}, nil
}

// script replaces the answers from now on.
func (s *scriptedHelpScout) script(answer func(n int) (status int, retryAfter string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answer = answer
}

// attempts is how many API attempts were answered, and the failures
// handed out by kind.
func (s *scriptedHelpScout) attempts() (int, map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, maps.Clone(s.failed)
}

// logRecord is one line of a JSON log.
type logRecord struct {
	Level      string
	Msg        string
	Failures   int
	Kinds      string
	Wait       string
	LimitedFor string `json:"limited_for"`
	Cause      string
	FailingFor string `json:"failing_for"`
}

func logRecords(t *testing.T, logs *testkit.LogBuffer) []logRecord {
	t.Helper()
	var out []logRecord
	for line := range strings.Lines(logs.String()) {
		var r logRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

func newScripted(answer func(n int) (status int, retryAfter string)) *scriptedHelpScout {
	return &scriptedHelpScout{failed: map[string]int{}, answer: answer}
}

// clockedRun is the chain over a scripted Help Scout, with a Failures that
// reads a test clock and logs JSON. One retry, with no real wait between
// attempts.
type clockedRun struct {
	hs   *scriptedHelpScout
	clk  *testkit.Clock
	logs testkit.LogBuffer
	c    *http.Client
	f    *Failures
}

func newClockedRun(answer func(n int) (status int, retryAfter string)) *clockedRun {
	r := &clockedRun{hs: newScripted(answer), clk: testkit.NewClock(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))}
	r.f = NewFailures(slog.New(slog.NewJSONHandler(&r.logs, nil)))
	r.f.now = r.clk.Now
	r.c = NewClient(Options{BaseURL: "http://helpscout.test", ClientID: "id", ClientSecret: "very-secret-value",
		PerMinute: 1000, Failures: r.f, RetryMax: 1, MaxWait: time.Nanosecond, Base: r.hs})
	return r
}

// calls makes n calls, the clock moving by every after each.
func (r *clockedRun) calls(n int, every time.Duration) {
	for range n {
		get(r.c)
		r.clk.Advance(every)
	}
}

func get(c *http.Client) {
	if resp, err := c.Get("http://helpscout.test/v2/conversations"); err == nil {
		resp.Body.Close()
	}
}

// TestIntermittentFailuresAreSummarised is ops finding 5: with 30% of
// attempts failing between successes, every failure began a new run and
// got its own WARN (38 lines for 52 failures in 30 s). Now the first
// failure is said, then a count per minute by kind, then the end.
func TestIntermittentFailuresAreSummarised(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 30))
	r := newClockedRun(func(int) (int, string) {
		if rng.Float64() >= 0.3 {
			return http.StatusOK, ""
		}
		return []int{500, 502, 503, 0}[rng.IntN(4)], ""
	})
	r.calls(100, time.Second)
	_, failed := r.hs.attempts()
	n, want := tally(failed)
	if n < 25 {
		t.Fatalf("only %d attempts failed (%s); the test needs an intermittent spell", n, want)
	}
	recs := logRecords(t, &r.logs)
	if len(recs) > 3 {
		t.Errorf("%d log lines for %d failures over 100 s, want at most 3:\n%s", len(recs), n, r.logs.String())
	}
	if len(recs) == 0 || !strings.HasPrefix(recs[0].Msg, "help scout call failed;") || recs[0].Level != "WARN" {
		t.Fatalf("the first failure is not said as before:\n%s", r.logs.String())
	}
	if len(recs) < 2 {
		t.Errorf("no summary after the first minute:\n%s", r.logs.String())
	}

	// A minute without failure ends the spell, said once with its totals,
	// after the last minute's count; the counts add up to the totals.
	r.hs.script(func(int) (int, string) { return http.StatusOK, "" })
	r.calls(1, summaryEvery)
	r.calls(2, 0)
	recs = logRecords(t, &r.logs)
	if len(recs) > 4 {
		t.Errorf("%d log lines for the whole spell of %d failures, want at most 4:\n%s", len(recs), n, r.logs.String())
	}
	end := recs[len(recs)-1]
	if end.Level != "INFO" || end.Msg != "Help Scout calls succeed again: no failure for a minute" {
		t.Fatalf("the spell's end is not said:\n%s", r.logs.String())
	}
	if end.Failures != n || end.Kinds != want {
		t.Errorf("end of spell says %d failures (%s), want %d (%s)", end.Failures, end.Kinds, n, want)
	}
	summarised := 0
	for _, rec := range recs[1 : len(recs)-1] {
		if rec.Msg != "Help Scout failures in the last minute" || rec.Level != "WARN" || rec.Failures == 0 {
			t.Errorf("unexpected line %+v", rec)
		}
		summarised += rec.Failures
	}
	if summarised != n {
		t.Errorf("the minute summaries count %d failures, want %d:\n%s", summarised, n, r.logs.String())
	}
	if r.f.Last() != "" {
		t.Errorf("Last() = %q after successes", r.f.Last())
	}
}

// TestSolidOutageSaysStartAndEnd: one unbroken run of failures says its
// first failure and, once calls have succeeded for a minute, its end with
// the totals; nothing in between however long it lasts.
func TestSolidOutageSaysStartAndEnd(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	r := newClockedRun(func(int) (int, string) {
		if down.Load() {
			return http.StatusServiceUnavailable, ""
		}
		return http.StatusOK, ""
	})
	r.calls(30, 10*time.Second)
	down.Store(false)
	get(r.c)
	if r.f.Last() != "" {
		t.Errorf("Last() = %q after the first success, want \"\" at once (for /readyz)", r.f.Last())
	}
	r.clk.Advance(10 * time.Second)
	r.calls(7, 10*time.Second)
	recs := logRecords(t, &r.logs)
	if len(recs) != 2 {
		t.Fatalf("%d lines for a solid outage, want 2 (its start and its end):\n%s", len(recs), r.logs.String())
	}
	if recs[0].Msg != "help scout call failed; retrying" {
		t.Errorf("first line %+v", recs[0])
	}
	if end := recs[1]; end.Level != "INFO" || end.Failures != 60 || end.Kinds != "503×60" || end.FailingFor != "4m50s" {
		t.Errorf("end line %+v, want 60 failures (503×60) over 4m50s", end)
	}
}

// TestLongRateLimitWaitIsSaid is ops finding 6: a 429 storm was silent.
// A run of 429s that holds requests back past limitWarnAfter is said once,
// with the wait; a 429 is not a failure and is neither counted nor kept
// for /readyz. It runs in a synctest bubble so the waits take no time.
func TestLongRateLimitWaitIsSaid(t *testing.T) {
	tests := []struct {
		name    string
		answers []string // Retry-After of each 429 in turn; "ok" is a 200
		want    []string // the wait each warning names
	}{
		{"one long wait", []string{"45", "ok"}, []string{"45s"}},
		{"short waits that add up, said once", []string{"10", "10", "10", "10", "ok"}, []string{"10s"}},
		{"short runs are routine", []string{"5", "5", "ok", "5", "ok"}, nil},
		{"a new run is said again", []string{"40", "ok", "40", "ok"}, []string{"40s", "40s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hs := newScripted(func(n int) (int, string) {
					if n >= len(tt.answers) || tt.answers[n] == "ok" {
						return http.StatusOK, ""
					}
					return http.StatusTooManyRequests, tt.answers[n]
				})
				var logs testkit.LogBuffer
				f := NewFailures(slog.New(slog.NewJSONHandler(&logs, nil)))
				c := NewClient(Options{BaseURL: "http://helpscout.test", ClientID: "id", ClientSecret: "s",
					PerMinute: 1000, Failures: f, Base: hs})
				for n, _ := hs.attempts(); n < len(tt.answers); n, _ = hs.attempts() {
					get(c)
				}
				var waits []string
				for _, r := range logRecords(t, &logs) {
					if r.Level != "WARN" || !strings.HasPrefix(r.Msg, "Help Scout's rate limit is reached") ||
						!strings.Contains(r.Msg, "other integrations on the account share the limit") {
						t.Errorf("unexpected line %+v", r)
					}
					waits = append(waits, r.Wait)
				}
				if !slices.Equal(waits, tt.want) {
					t.Errorf("warnings name waits %q, want %q:\n%s", waits, tt.want, logs.String())
				}
				if f.Last() != "" {
					t.Errorf("Last() = %q: a 429 is not a failure", f.Last())
				}
			})
		})
	}
}

// TestLoneFailureSaysOnlyItself: one failed attempt, retried with success,
// is the one line it always was; no end-of-spell line follows it.
func TestLoneFailureSaysOnlyItself(t *testing.T) {
	t.Parallel()
	r := newClockedRun(func(n int) (int, string) {
		if n == 0 {
			return http.StatusBadGateway, ""
		}
		return http.StatusOK, ""
	})
	r.calls(20, 10*time.Second)
	recs := logRecords(t, &r.logs)
	if len(recs) != 1 || recs[0].Msg != "help scout call failed; retrying" {
		t.Errorf("want the one retrying line, got:\n%s", r.logs.String())
	}
}
