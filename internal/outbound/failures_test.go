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
	if n := strings.Count(logs.String(), "level=WARN msg=\"help scout call failed; retrying\""); n != 1 {
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
