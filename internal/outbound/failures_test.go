package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
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
