package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// memListener is an in-memory network for a synctest bubble: connections
// are net.Pipe pairs, so every wait on them is one the bubble can see, and
// fake time moves only when the whole chain is waiting on a timer (the
// budget, a backoff, the fake's rate window).
type memListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

func (l *memListener) DialContext(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	return nil, fmt.Errorf("dial in-memory fake: %w", net.ErrClosed)
}

// serveInBubble serves h over a fresh in-memory network and returns a
// transport dialing it; stop closes both so the bubble's goroutines end.
func serveInBubble(h http.Handler) (base *http.Transport, stop func()) {
	ln := newMemListener()
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	base = &http.Transport{DialContext: ln.DialContext}
	return base, func() {
		base.CloseIdleConnections()
		srv.Close()
	}
}

// requestsByCode sums queuewrangler_helpscout_requests_total by code.
func requestsByCode(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	byCode := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "queuewrangler_helpscout_requests_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "code" {
					byCode[l.GetValue()] += mt.GetCounter().GetValue()
				}
			}
		}
	}
	return byCode
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "helpscout.test:80" }

// tokenSniffer remembers every access token the token endpoint hands out,
// so that a test can look for them where they must not appear.
type tokenSniffer struct {
	next http.Handler

	mu     sync.Mutex
	tokens []string
}

func (s *tokenSniffer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), "/oauth2/token") {
		s.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	s.next.ServeHTTP(rec, r)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(rec.Body.Bytes(), &tok) == nil && tok.AccessToken != "" {
		s.mu.Lock()
		s.tokens = append(s.tokens, tok.AccessToken)
		s.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (s *tokenSniffer) issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokens)
}

const (
	walkClientID     = "queuewrangler-walk"
	walkClientSecret = "s3cr3t-client-secret-walk"
)

// TestWalkUnderRateLimitAndFaults is issue 2's transport must-show. The
// fake allows 60 requests a minute and injects 5xx, truncated bodies, a 429
// storm and two token expiries; the client's budget is 50 a minute, or 120
// held to the account's by X-RateLimit-Remaining-Minute. The
// walk of 1,000 conversations with all their threads (a thread list fetch
// wherever the embedded threads fall short of the count) sees each
// conversation exactly once, the fake records no rate-limit violation, the
// expired tokens are replaced without the walk noticing, and neither the
// client secret nor any access token shows up in the logs.
//
// It runs in a synctest bubble: the budget, the backoffs and the fake's
// per-minute window all use the bubble's clock, so minutes of pacing take
// no real time and the pacing is exact.
func TestWalkUnderRateLimitAndFaults(t *testing.T) {
	n := 1000
	if testing.Short() {
		// Enough requests (about 100) that the control's 120/min budget
		// goes over the account's 60 within a minute; 300 made about 50,
		// which no budget can push over the limit.
		n = 600
	}
	tests := []struct {
		name      string
		perMinute int
		// hideRemaining strips X-RateLimit-Remaining-Minute from every
		// response, leaving the client only its own budget.
		hideRemaining bool
		// overLimit: the budget exceeds the account's 60/min and nothing
		// holds it back, so the fake must see violations (the control that
		// shows the check can fail) and the walk must still finish by
		// waiting what the 429s say.
		overLimit bool
	}{
		{"budget 50/min under the account's 60/min", 50, false, false},
		{"budget 120/min held to the account's 60/min by what Help Scout says is left", 120, false, false},
		{"control: budget 120/min over the account's 60/min, remaining not said", 120, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { walkUnderFaults(t, n, tc.perMinute, tc.hideRemaining, tc.overLimit) })
	}
}

func walkUnderFaults(t *testing.T, n, perMinute int, hideRemaining, overLimit bool) {
	synctest.Test(t, func(t *testing.T) {
		fake := helpscouttest.New(helpscouttest.Options{
			ClientID: walkClientID, ClientSecret: walkClientSecret,
			RateLimitPerMinute: 60, Seed: 42,
		})
		defer fake.Close()
		if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 42, Conversations: n}); err != nil {
			t.Fatal(err)
		}
		fake.SetFaults(helpscouttest.Faults{ErrorProbability: 0.12, TruncateProbability: 0.08})

		sniff := &tokenSniffer{next: fake}
		inBubble, stop := serveInBubble(sniff)
		defer stop()
		var base http.RoundTripper = inBubble
		if hideRemaining {
			base = withoutRemaining{next: inBubble}
		}

		var logs testkit.LogBuffer
		logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		reg := prometheus.NewRegistry()
		m := metrics.NewInstruments(reg)
		const baseURL = "http://helpscout.test"
		hc := NewClient(Options{
			BaseURL: baseURL, ClientID: walkClientID, ClientSecret: walkClientSecret,
			PerMinute: perMinute, Metrics: m, Logger: logger, Base: base,
		})
		hs, err := helpscout.NewClient(hc).WithBaseURL(baseURL)
		if err != nil {
			t.Fatal(err)
		}

		start := time.Now()
		ctx := context.Background()
		seen := map[int64]int{}
		gotThreads := map[int64][]int64{}
		threadFetches, count := 0, 0
		var walkErrs []error
		opts := &helpscout.ConversationListOptions{Status: helpscout.StatusAll, Embed: helpscout.EmbedThreads}
		for c, err := range hs.Conversations.All(ctx, opts) {
			if err != nil {
				walkErrs = append(walkErrs, err)
				break
			}
			seen[c.ID]++
			count++
			threads := c.Threads()
			if len(threads) < c.ThreadCount {
				threadFetches++
				threads = nil
				for th, err := range hs.Threads.All(ctx, c.ID) {
					if err != nil {
						walkErrs = append(walkErrs, fmt.Errorf("threads of %d: %w", c.ID, err))
						break
					}
					threads = append(threads, th)
				}
			}
			for _, th := range threads {
				gotThreads[c.ID] = append(gotThreads[c.ID], th.ID)
			}
			switch count {
			case n * 3 / 10, n * 7 / 10:
				fake.ExpireTokens()
			case n / 2:
				fake.SetFaults(helpscouttest.Faults{StormFor: 20 * time.Second, ErrorProbability: 0.12, TruncateProbability: 0.08})
			}
		}
		elapsed := time.Since(start)
		if err := errors.Join(walkErrs...); err != nil {
			t.Fatalf("walk failed after %d conversations: %v", count, err)
		}

		wantThreads := map[int64][]int64{}
		for _, c := range fake.Conversations() {
			for _, th := range c.Threads {
				wantThreads[c.ID] = append(wantThreads[c.ID], th.ID)
			}
		}
		for id, times := range seen {
			if times != 1 {
				t.Errorf("conversation %d arrived %d times", id, times)
			}
		}
		if len(seen) != n || count != n {
			t.Errorf("walk yielded %d conversations (%d distinct), want %d", count, len(seen), n)
		}
		sortIDs := func(m map[int64][]int64) {
			for _, ids := range m {
				slices.Sort(ids)
			}
		}
		sortIDs(gotThreads)
		sortIDs(wantThreads)
		if d := cmp.Diff(gotThreads, wantThreads); d != "" {
			t.Errorf("threads by conversation differ (-walk +fake):\n%s", d)
		}

		st := fake.Stats()
		switch {
		case !overLimit && st.RateLimitViolations != 0:
			t.Errorf("fake recorded %d rate-limit violations with a client budget of %d/min against 60/min", st.RateLimitViolations, perMinute)
		case overLimit && st.RateLimitViolations == 0:
			t.Errorf("no rate-limit violations with a budget of %d/min against 60/min: the fake does not limit", perMinute)
		}
		if st.TokensIssued < 2 {
			t.Errorf("tokens issued = %d, want at least 2 (the expired token was not replaced)", st.TokensIssued)
		}
		if st.StormRejections == 0 || st.InjectedErrors == 0 || st.Truncated == 0 || st.Unauthorized == 0 {
			t.Errorf("faults not exercised: %d storm 429s, %d 5xx, %d truncated, %d 401s",
				st.StormRejections, st.InjectedErrors, st.Truncated, st.Unauthorized)
		}
		total := 0
		for _, v := range st.Requests {
			total += v
		}
		// Pacing: the fake counted every attempt; at perMinute a minute
		// they need at least (total-perMinute)/perMinute minutes.
		if minPaced := time.Duration(total-perMinute) * time.Minute / time.Duration(perMinute); elapsed < minPaced {
			t.Errorf("%d requests in %s: a budget of %d/min would need at least %s", total, elapsed, perMinute, minPaced)
		}
		// Every attempt got an answer: none died client-side, for example a
		// wait for the budget outliving the per-attempt timeout.
		byCode := requestsByCode(t, reg)
		if byCode["error"] != 0 {
			t.Errorf("%v attempts failed without a response (requests by code: %v)", byCode["error"], byCode)
		}
		t.Logf("budget %d/min: walked %d conversations (%d thread list fetches) in %s of bubble time: %d requests, %d tokens, %d storm 429s, %d 5xx, %d truncated, %d 401s, %d violations",
			perMinute, count, threadFetches, elapsed.Round(time.Second), total, st.TokensIssued, st.StormRejections,
			st.InjectedErrors, st.Truncated, st.Unauthorized, st.RateLimitViolations)

		out := logs.String()
		if !strings.Contains(out, "helpscout http") {
			t.Errorf("the chain logged nothing at debug level; the secret check below would prove nothing")
		}
		for _, secret := range append(sniff.issued(), walkClientSecret) {
			if strings.Contains(out, secret) {
				t.Errorf("log output contains a secret (%.6s...)", secret)
			}
		}
		if len(sniff.issued()) != st.TokensIssued {
			t.Errorf("sniffed %d tokens, fake issued %d", len(sniff.issued()), st.TokensIssued)
		}
	})
}

func TestRateLimitBackoff(t *testing.T) {
	const min, max = 250 * time.Millisecond, 65 * time.Second
	resp := func(code int, retryAfter string) *http.Response {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("X-RateLimit-Retry-After", retryAfter)
		}
		return &http.Response{StatusCode: code, Header: h}
	}
	tests := []struct {
		name    string
		attempt int
		resp    *http.Response
		want    time.Duration
	}{
		{"429 waits what Help Scout says, plus a margin", 0, resp(429, "7"), 7*time.Second + 250*time.Millisecond},
		{"429 header with spaces", 3, resp(429, " 12 "), 12*time.Second + 250*time.Millisecond},
		{"429 zero seconds", 2, resp(429, "0"), 250 * time.Millisecond},
		{"429 longer than the cap is capped", 0, resp(429, "600"), max},
		{"429 without the header backs off exponentially", 2, resp(429, ""), 4 * min},
		{"429 with a garbage header backs off exponentially", 1, resp(429, "soon"), 2 * min},
		{"503 ignores the rate header", 1, resp(503, "30"), 2 * min},
		{"transport error", 0, nil, min},
		{"exponential growth is capped", 20, resp(500, ""), max},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := rateLimitBackoff(min, max, tc.attempt, tc.resp); got != tc.want {
				t.Errorf("rateLimitBackoff(attempt %d) = %s, want %s", tc.attempt, got, tc.want)
			}
		})
	}
}

func TestRetryPolicy(t *testing.T) {
	errReset := errors.New("connection reset by peer")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		method string
		status int // 0 = transport error
		err    error
		want   bool
	}{
		{"GET 429", nil, http.MethodGet, 429, nil, true},
		{"GET 500", nil, http.MethodGet, 500, nil, true},
		{"GET 503", nil, http.MethodGet, 503, nil, true},
		{"GET 501 is permanent", nil, http.MethodGet, 501, nil, false},
		{"GET transport error", nil, http.MethodGet, 0, nil, true},
		{"GET 200", nil, http.MethodGet, 200, nil, false},
		{"GET 404", nil, http.MethodGet, 404, nil, false},
		{"PATCH 502 (assign is idempotent)", nil, http.MethodPatch, 502, nil, true},
		{"PATCH transport error", nil, http.MethodPatch, 0, nil, true},
		{"POST 429 (Help Scout did nothing)", nil, http.MethodPost, 429, nil, true},
		{"POST 500 (the note may exist)", nil, http.MethodPost, 500, nil, false},
		{"POST 503", nil, http.MethodPost, 503, nil, false},
		{"POST transport error", nil, http.MethodPost, 0, nil, false},
		{"POST 201", nil, http.MethodPost, 201, nil, false},
		{"canceled context", canceled, http.MethodGet, 503, nil, false},
		{"token endpoint 401 (bad credentials)", nil, http.MethodGet, 0,
			&url.Error{Op: "Get", URL: "x", Err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: 401}}}, false},
		{"token endpoint 400", nil, http.MethodGet, 0,
			&url.Error{Op: "Get", URL: "x", Err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}}}, false},
		{"token endpoint 429", nil, http.MethodGet, 0,
			&url.Error{Op: "Get", URL: "x", Err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: 429}}}, true},
		{"token endpoint 502", nil, http.MethodGet, 0,
			&url.Error{Op: "Get", URL: "x", Err: &oauth2.RetrieveError{Response: &http.Response{StatusCode: 502}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			ctx = context.WithValue(ctx, methodKey{}, tc.method)
			var resp *http.Response
			var err error
			switch {
			case tc.err != nil:
				err = tc.err
			case tc.status == 0:
				err = errReset
			default:
				resp = &http.Response{StatusCode: tc.status, Status: strconv.Itoa(tc.status)}
			}
			got, _ := retryPolicy(ctx, resp, err)
			if got != tc.want {
				t.Errorf("retryPolicy(%s, %d) = %v, want %v", tc.method, tc.status, got, tc.want)
			}
		})
	}
}

// chainServer is an API stand-in for the unit tests of the chain: a token
// endpoint that numbers its tokens, and an API handler the test supplies.
type chainServer struct {
	*httptest.Server
	tokens        atomic.Int32 // issued
	tokenRequests atomic.Int32
}

func newChainServer(t *testing.T, api http.HandlerFunc) *chainServer {
	t.Helper()
	cs := &chainServer{}
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/oauth2/token" {
			cs.tokenRequests.Add(1)
			if err := r.ParseForm(); err != nil || r.PostForm.Get("client_secret") != walkClientSecret {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error_description":"Bad client credentials","error":"invalid_client"}`)
				return
			}
			n := cs.tokens.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"token_type":"bearer","access_token":"tok-%d-abcdef","expires_in":172800}`, n)
			return
		}
		api(w, r)
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *chainServer) client(t *testing.T, logger *slog.Logger, secret string) *http.Client {
	t.Helper()
	return NewClient(Options{
		BaseURL: cs.URL, ClientID: walkClientID, ClientSecret: secret, PerMinute: 1000,
		Logger: logger, MaxWait: 10 * time.Millisecond,
	})
}

// TestPostRetriedOnlyOn429 sends a note-like POST through the whole chain:
// a 429 is retried (Help Scout did nothing), a 500 is not (it may have).
func TestPostRetriedOnlyOn429(t *testing.T) {
	tests := []struct {
		name      string
		first     int
		wantCalls int
		wantCode  int
	}{
		{"429 then created", http.StatusTooManyRequests, 2, http.StatusCreated},
		{"500 is final", http.StatusInternalServerError, 1, http.StatusInternalServerError},
		{"503 is final", http.StatusServiceUnavailable, 1, http.StatusServiceUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			var bodies []string
			var mu sync.Mutex
			cs := newChainServer(t, func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies = append(bodies, string(b))
				mu.Unlock()
				if calls.Add(1) == 1 {
					w.Header().Set("X-RateLimit-Retry-After", "0")
					w.WriteHeader(tc.first)
					return
				}
				w.WriteHeader(http.StatusCreated)
			})
			hc := cs.client(t, nil, walkClientSecret)
			req, _ := http.NewRequest(http.MethodPost, cs.URL+"/v2/conversations/1/notes", strings.NewReader(`{"text":"moved"}`))
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantCode || int(calls.Load()) != tc.wantCalls {
				t.Errorf("POST: status %d after %d calls, want %d after %d", resp.StatusCode, calls.Load(), tc.wantCode, tc.wantCalls)
			}
			for i, b := range bodies {
				if b != `{"text":"moved"}` {
					t.Errorf("attempt %d sent body %q", i+1, b)
				}
			}
		})
	}
}

// TestTokenTransportRefreshesOnce: a 401 drops the token, fetches one new
// token and repeats the request once, with its body; a second 401 goes back
// to the caller rather than looping.
func TestTokenTransportRefreshesOnce(t *testing.T) {
	type call struct{ auth, body string }
	tests := []struct {
		name       string
		reject     func(auth string) bool
		body       string
		wantStatus int
		wantCalls  []call
		wantFetch  int
	}{
		{
			name:       "expired token replaced, GET repeated",
			reject:     func(auth string) bool { return auth == "Bearer tok-1" },
			wantStatus: 200,
			wantCalls:  []call{{"Bearer tok-1", ""}, {"Bearer tok-2", ""}},
			wantFetch:  2,
		},
		{
			name:       "PATCH body replayed on the repeat",
			reject:     func(auth string) bool { return auth == "Bearer tok-1" },
			body:       `{"op":"replace","path":"/assignTo","value":7}`,
			wantStatus: 200,
			wantCalls: []call{{"Bearer tok-1", `{"op":"replace","path":"/assignTo","value":7}`},
				{"Bearer tok-2", `{"op":"replace","path":"/assignTo","value":7}`}},
			wantFetch: 2,
		},
		{
			name:       "second 401 is returned, one refresh only",
			reject:     func(string) bool { return true },
			wantStatus: 401,
			wantCalls:  []call{{"Bearer tok-1", ""}, {"Bearer tok-2", ""}},
			wantFetch:  2,
		},
		{
			name:       "valid token fetched once",
			reject:     func(string) bool { return false },
			wantStatus: 200,
			wantCalls:  []call{{"Bearer tok-1", ""}},
			wantFetch:  1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var calls []call
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				auth := r.Header.Get("Authorization")
				mu.Lock()
				calls = append(calls, call{auth, string(b)})
				mu.Unlock()
				if tc.reject(strings.TrimSuffix(auth, "-abcdef")) {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			defer srv.Close()
			fetches := 0
			tt := &tokenTransport{next: http.DefaultTransport, fetch: func(context.Context) (*oauth2.Token, error) {
				fetches++
				return &oauth2.Token{AccessToken: fmt.Sprintf("tok-%d", fetches), Expiry: time.Now().Add(time.Hour)}, nil
			}}
			var body io.Reader
			method := http.MethodGet
			if tc.body != "" {
				body, method = strings.NewReader(tc.body), http.MethodPatch
			}
			req, _ := http.NewRequest(method, srv.URL+"/v2/conversations/1", body)
			resp, err := tt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if d := cmp.Diff(calls, tc.wantCalls, cmp.AllowUnexported(call{})); d != "" {
				t.Errorf("requests the server saw (-got +want):\n%s", d)
			}
			if fetches != tc.wantFetch {
				t.Errorf("token fetches = %d, want %d", fetches, tc.wantFetch)
			}
		})
	}
}

// TestTokenTransportKeepsUnreplayableBody: without GetBody the request
// cannot be repeated, so the 401 goes back as it is and no token is wasted.
func TestTokenTransportKeepsUnreplayableBody(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	fetches := 0
	tt := &tokenTransport{next: http.DefaultTransport, fetch: func(context.Context) (*oauth2.Token, error) {
		fetches++
		return &oauth2.Token{AccessToken: "tok", Expiry: time.Now().Add(time.Hour)}, nil
	}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL, io.NopCloser(strings.NewReader("x")))
	resp, err := tt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || calls.Load() != 1 || fetches != 1 {
		t.Errorf("status %d, %d calls, %d fetches; want 401, 1, 1", resp.StatusCode, calls.Load(), fetches)
	}
}

// TestShortLivedTokenIsReused: a token that lives less than oauth2's fixed
// 10 s margin is still used for the first half of its life, instead of a
// token request before every API call; an expired one is replaced.
func TestShortLivedTokenIsReused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, tc := range []struct {
		name        string
		lifetime    time.Duration
		wantFetches int
	}{
		{"lives 4 s", 4 * time.Second, 1},
		{"lives an hour", time.Hour, 1},
		{"never expires by the clock", 0, 1},
		{"already expired", -time.Second, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fetches := 0
			tt := &tokenTransport{next: http.DefaultTransport, fetch: func(context.Context) (*oauth2.Token, error) {
				fetches++
				tok := &oauth2.Token{AccessToken: fmt.Sprintf("tok-%d", fetches)}
				if tc.lifetime != 0 {
					tok.Expiry = time.Now().Add(tc.lifetime)
				}
				return tok, nil
			}}
			for range 5 {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				resp, err := tt.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if fetches != tc.wantFetches {
				t.Errorf("%d token fetches for 5 requests, want %d", fetches, tc.wantFetches)
			}
		})
	}
}

func TestRenewTime(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		lifetime, want time.Duration // want: renewal as an offset from at; -1 none
	}{
		{4 * time.Second, 2 * time.Second},
		{20 * time.Second, 10 * time.Second},
		{48 * time.Hour, 48*time.Hour - 10*time.Second},
		{-time.Second, -time.Second},
	} {
		got := renewTime(&oauth2.Token{Expiry: at.Add(tc.lifetime)}, at)
		if want := at.Add(tc.want); !got.Equal(want) {
			t.Errorf("lifetime %v: renew at %v, want %v", tc.lifetime, got.Sub(at), tc.want)
		}
	}
	if got := renewTime(&oauth2.Token{}, at); !got.IsZero() {
		t.Errorf("a token without expiry: renew at %v, want never", got)
	}
}

// truncateFirst answers its first n requests with half of the announced
// body and then drops the connection, as a proxy cutting a response does.
func truncateFirst(n int32, body string) (http.HandlerFunc, *atomic.Int32) {
	var calls atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if calls.Add(1) <= n {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, body[:len(body)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		io.WriteString(w, body)
	}, &calls
}

func TestWholeBody(t *testing.T) {
	const body = `{"id":1,"number":7,"threads":0,"status":"active"}`
	t.Run("truncated body is a transport error", func(t *testing.T) {
		h, _ := truncateFirst(1, body)
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		_, err := wholeBody{next: http.DefaultTransport}.RoundTrip(req)
		var te *truncatedError
		if !errors.As(err, &te) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("err = %v, want a *truncatedError wrapping io.ErrUnexpectedEOF", err)
		}
	})
	t.Run("whole body is kept", func(t *testing.T) {
		h, _ := truncateFirst(0, body)
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		resp, err := wholeBody{next: http.DefaultTransport}.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		if string(got) != body || resp.ContentLength != int64(len(body)) {
			t.Errorf("body %q (length %d), want %q", got, resp.ContentLength, body)
		}
	})
	t.Run("retried through the chain", func(t *testing.T) {
		h, calls := truncateFirst(2, body)
		cs := newChainServer(t, h)
		hs, err := helpscout.NewClient(cs.client(t, nil, walkClientSecret)).WithBaseURL(cs.URL)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := hs.Conversations.Get(context.Background(), 1, false)
		if err != nil {
			t.Fatalf("Get after two truncated answers: %v", err)
		}
		if c.Number != 7 || calls.Load() != 3 {
			t.Errorf("got number %d after %d calls, want 7 after 3", c.Number, calls.Load())
		}
	})
}

// TestChainKeepsSecretsOut drives the chain into its error paths (bad
// credentials, a token rejected twice, retries exhausted) and checks that
// neither the client secret nor an access token reaches an error or a log
// line, even when the server echoes the Authorization header back.
func TestChainKeepsSecretsOut(t *testing.T) {
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"message":"rejected %s","error":"invalid_token","error_description":"%s"}`,
				r.Header.Get("Authorization"), r.Header.Get("Authorization"))
		}
	}
	tests := []struct {
		name   string
		api    http.HandlerFunc
		secret string
	}{
		{"wrong client secret", echo(http.StatusOK), walkClientSecret + "-wrong"},
		{"token rejected twice", echo(http.StatusUnauthorized), walkClientSecret},
		{"retries exhausted on 503", echo(http.StatusServiceUnavailable), walkClientSecret},
		{"403 echoing the header", echo(http.StatusForbidden), walkClientSecret},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := newChainServer(t, tc.api)
			var logs testkit.LogBuffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			hs, err := helpscout.NewClient(cs.client(t, logger, tc.secret)).WithBaseURL(cs.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = hs.Conversations.Get(context.Background(), 1, false)
			if err == nil {
				t.Fatal("want an error")
			}
			t.Logf("error: %v", err)
			secrets := []string{walkClientSecret, tc.secret}
			for i := int32(1); i <= cs.tokens.Load(); i++ {
				secrets = append(secrets, fmt.Sprintf("tok-%d-abcdef", i))
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains a secret", err)
				}
				if strings.Contains(logs.String(), s) {
					t.Errorf("logs contain a secret:\n%s", logs.String())
				}
			}
		})
	}
}

// TestBadCredentialsFailAtOnce: the token endpoint's 4xx is final. Retrying
// it would only delay the error by the whole backoff (about a minute with
// the defaults) and spend the account's budget on doomed requests.
func TestBadCredentialsFailAtOnce(t *testing.T) {
	var apiCalls atomic.Int32
	cs := newChainServer(t, func(w http.ResponseWriter, r *http.Request) { apiCalls.Add(1) })
	hs, err := helpscout.NewClient(cs.client(t, nil, "not-the-secret")).WithBaseURL(cs.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = hs.Conversations.Get(context.Background(), 1, false)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("err = %v, want the token endpoint's invalid_client", err)
	}
	// The error the command ends on says what to fix, not oauth2's text.
	var ce *CredentialsError
	if !errors.As(err, &ce) || ce.Code != http.StatusUnauthorized {
		t.Errorf("err = %v, want a *CredentialsError for HTTP 401", err)
	}
	if !strings.Contains(err.Error(), "check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET") {
		t.Errorf("error %q does not say which variables to check", err)
	}
	if n := cs.tokenRequests.Load(); n != 1 || apiCalls.Load() != 0 {
		t.Errorf("%d token requests and %d API calls for bad credentials, want 1 and 0", n, apiCalls.Load())
	}
}

// TestBudgetWaitIsNotATimeout spends the whole budget in a burst; the next
// request then waits a minute for the budget. That wait is pacing: the
// attempt must still be sent once and succeed, not time out client-side,
// be counted as an error and retried.
func TestBudgetWaitIsNotATimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fake := helpscouttest.New(helpscouttest.Options{ClientID: walkClientID, ClientSecret: walkClientSecret, RateLimitPerMinute: 60})
		defer fake.Close()
		if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 1, Conversations: 5}); err != nil {
			t.Fatal(err)
		}
		base, stop := serveInBubble(fake)
		defer stop()
		reg := prometheus.NewRegistry()
		const perMinute = 50
		hc := NewClient(Options{
			BaseURL: "http://helpscout.test", ClientID: walkClientID, ClientSecret: walkClientSecret,
			PerMinute: perMinute, Metrics: metrics.NewInstruments(reg), Base: base,
		})
		hs, err := helpscout.NewClient(hc).WithBaseURL("http://helpscout.test")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		const n = perMinute + 2 // the token request costs 2 of the budget
		for i := range n {
			if _, _, err := hs.Mailboxes.List(context.Background(), 1); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		if got := fake.Stats().Requests[helpscouttest.RouteListMailboxes]; got != n {
			t.Errorf("fake saw %d requests, want %d (one attempt each)", got, n)
		}
		if byCode := requestsByCode(t, reg); byCode["error"] != 0 {
			t.Errorf("requests by code %v: an attempt failed while it waited for the budget", byCode)
		}
		if took := time.Since(start); took < time.Minute {
			t.Errorf("%d requests took %s; the budget of %d/min should have held one back a minute", n, took, perMinute)
		}
	})
}

// withoutRemaining plays a server that does not say how much of the
// minute's budget is left.
type withoutRemaining struct{ next http.RoundTripper }

func (w withoutRemaining) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if resp != nil {
		resp.Header.Del("X-RateLimit-Remaining-Minute")
	}
	return resp, err
}

// TestBudgetHeedsAnotherIntegration: another integration has spent most of
// the account's minute. Our own budget still has room for every request,
// but the chain takes Help Scout's X-RateLimit-Remaining-Minute and holds
// back what would run into a 429, until the minute has passed.
func TestBudgetHeedsAnotherIntegration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const accountLimit, othersSpent, perMinute, n = 60, 45, 50, 30
		fake := helpscouttest.New(helpscouttest.Options{ClientID: walkClientID, ClientSecret: walkClientSecret, RateLimitPerMinute: accountLimit})
		defer fake.Close()
		if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 1, Conversations: 5}); err != nil {
			t.Fatal(err)
		}
		base, stop := serveInBubble(fake)
		defer stop()
		hc := NewClient(Options{
			BaseURL: "http://helpscout.test", ClientID: walkClientID, ClientSecret: walkClientSecret,
			PerMinute: perMinute, Base: base,
		})
		hs, err := helpscout.NewClient(hc).WithBaseURL("http://helpscout.test")
		if err != nil {
			t.Fatal(err)
		}
		fake.SpendRateBudget(othersSpent)
		start := time.Now()
		for i := range n {
			if _, _, err := hs.Mailboxes.List(context.Background(), 1); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
		}
		st := fake.Stats()
		if st.RateLimitViolations != 0 {
			t.Errorf("fake answered %d requests with 429: the budget ran into what another integration had spent", st.RateLimitViolations)
		}
		if got := st.Requests[helpscouttest.RouteListMailboxes]; got != n {
			t.Errorf("fake saw %d requests, want %d (one attempt each)", got, n)
		}
		if took := time.Since(start); took < time.Minute {
			t.Errorf("%d requests took %s with %d of the account's %d left; the rest should have waited for the next minute", n, took, accountLimit-othersSpent, accountLimit)
		}
	})
}

// TestStalledResponseTimesOut: a server that sends half a body and stalls
// fails the attempt after attemptLimit, and the retry gets the answer.
func TestStalledResponseTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const body = `{"id":5,"name":"Support","email":"s@example.com"}`
		release := make(chan struct{})
		var calls atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v2/oauth2/token" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"token_type":"bearer","access_token":"tok","expires_in":172800}`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if calls.Add(1) == 1 {
				io.WriteString(w, body[:10])
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
				return
			}
			io.WriteString(w, body)
		})
		base, stop := serveInBubble(h)
		defer stop()
		defer close(release)
		hc := NewClient(Options{
			BaseURL: "http://helpscout.test", ClientID: "id", ClientSecret: "secret", PerMinute: 100, Base: base,
		})
		hs, err := helpscout.NewClient(hc).WithBaseURL("http://helpscout.test")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		mb, _, err := hs.Mailboxes.Get(context.Background(), 5)
		if err != nil {
			t.Fatalf("Get after a stalled attempt: %v", err)
		}
		took := time.Since(start)
		if mb.Name != "Support" || calls.Load() != 2 {
			t.Errorf("got %q after %d calls, want Support after 2", mb.Name, calls.Load())
		}
		if took < attemptLimit || took > attemptLimit+5*time.Second {
			t.Errorf("took %s, want the attempt limit %s plus a short backoff", took, attemptLimit)
		}
	})
}

// TestTokenRequestNotRedirected: a token endpoint answering 307 or 308
// must not make the client post the form, client secret included, to the
// host in Location.
func TestTokenRequestNotRedirected(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var leaked atomic.Int32
			elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				leaked.Add(1)
			}))
			t.Cleanup(elsewhere.Close)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, elsewhere.URL+"/collect", status)
			}))
			t.Cleanup(srv.Close)
			hc := NewClient(Options{
				BaseURL: srv.URL, ClientID: walkClientID, ClientSecret: walkClientSecret, PerMinute: 1000,
				RetryMax: 1, MaxWait: 10 * time.Millisecond,
			})
			hs, err := helpscout.NewClient(hc).WithBaseURL(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := hs.Conversations.Get(context.Background(), 1, false); err == nil {
				t.Fatal("want an error from a redirecting token endpoint")
			}
			if got := leaked.Load(); got != 0 {
				t.Errorf("the redirect target received %d requests, want 0", got)
			}
		})
	}
}
