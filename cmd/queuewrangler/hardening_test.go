package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// Issue 17, rows 1-4, as an operator meets them: serve exits 2 and names
// both weak secrets at once, with a fresh token to use instead.
func TestServeRefusesWeakSecrets(t *testing.T) {
	clearEnv(t)
	t.Setenv("QW_HELPSCOUT_CLIENT_ID", "id")
	t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "client-secret")
	t.Setenv("QW_ADMIN_TOKEN", "abc\n")
	t.Setenv("QW_HELPSCOUT_WEBHOOK_SECRET", " ")
	stderr := wantUsageError(t, "serve",
		"QW_ADMIN_TOKEN: has whitespace at its start or end and is 4 characters, fewer than 16",
		"a fresh random token such as ",
		"QW_HELPSCOUT_WEBHOOK_SECRET: is blank",
	)
	if strings.Contains(stderr, "client-secret") {
		t.Errorf("the client secret leaked into the error: %s", stderr)
	}
}

// Issue 17, row 9, through the daemon: QW_ALLOWED_HOSTS reaches the
// listener, and leaving it empty is warned about at start.
func TestDaemonAnswersOnlyItsAllowedHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon against the fake Help Scout")
	}
	_, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{RateLimitPerMinute: 10_000})
	get := func(addr, host, path string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
		req.Host = host
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	var logs testkit.LogBuffer
	addr := startDaemon(t, ts.URL, &logs, map[string]string{"QW_ALLOWED_HOSTS": "queue.example.com"})
	for _, tc := range []struct {
		host, path string
		want       int
	}{
		{"queue.example.com", "/api/v1/agents", http.StatusOK},
		{"queue.example.com:8080", "/metrics", http.StatusOK},
		{"rebound.attacker.example", "/api/v1/agents", http.StatusMisdirectedRequest},
		{"rebound.attacker.example", "/metrics", http.StatusMisdirectedRequest},
		{"rebound.attacker.example", "/", http.StatusMisdirectedRequest},
		{addr, "/healthz", http.StatusOK}, // a probe by IP
	} {
		if got := get(addr, tc.host, tc.path); got != tc.want {
			t.Errorf("GET %s with Host %s: %d, want %d", tc.path, tc.host, got, tc.want)
		}
	}
	if strings.Contains(logs.String(), "QW_ALLOWED_HOSTS") {
		t.Errorf("warned about QW_ALLOWED_HOSTS although it is set:\n%s", logs.String())
	}

	var open testkit.LogBuffer
	addr = startDaemon(t, ts.URL, &open, map[string]string{"QW_ALLOWED_HOSTS": ""})
	if got := get(addr, "rebound.attacker.example", "/api/v1/agents"); got != http.StatusOK {
		t.Errorf("with QW_ALLOWED_HOSTS empty, another Host got %d, want 200 as before", got)
	}
	if !strings.Contains(open.String(), "QW_ALLOWED_HOSTS is empty") {
		t.Errorf("no warning at start that any Host is answered:\n%s", open.String())
	}
}
