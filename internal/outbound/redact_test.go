package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

const (
	echoClientSecret  = "client+secret/with=form&chars"
	echoWebhookSecret = "webhook-secret-value"
	echoAdminToken    = "admin-token-value-0123"
)

// Issue 17, row 8: a token endpoint whose 400 echoes the request body put
// the client secret, in full, into the error main logs. Every secret is
// now redacted by value, whatever echoes it.
func TestTokenEndpointEchoIsRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "cannot parse request: %s", body)
	}))
	t.Cleanup(srv.Close)
	var logs testkit.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hc := NewClient(Options{BaseURL: srv.URL, ClientID: walkClientID, ClientSecret: echoClientSecret,
		Redact: []string{echoWebhookSecret, echoAdminToken}, PerMinute: 1000, Logger: logger, MaxWait: 10 * time.Millisecond})
	hs, err := helpscout.NewClient(hc).WithBaseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = hs.Conversations.Get(context.Background(), 1, false)
	if err == nil {
		t.Fatal("want an error")
	}
	logger.Error("sync", "err", err) // what main does with it
	if !strings.Contains(err.Error(), "client_id="+walkClientID) {
		t.Fatalf("the error no longer shows what the server said, so this test proves nothing: %v", err)
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want it to unwrap to the token endpoint's *oauth2.RetrieveError", err)
	}
	for _, form := range []string{echoClientSecret, "client%2Bsecret%2Fwith%3Dform%26chars"} {
		for where, text := range map[string]string{"error text": err.Error(), "log output": logs.String(), "error body": string(re.Body)} {
			if strings.Contains(text, form) {
				t.Errorf("the %s holds the client secret (%q):\n%s", where, form, text)
			}
		}
	}
}

// A transport error that echoes the request (a proxy, say) names neither
// the access token, nor the webhook secret, nor the admin token.
func TestTransportErrorEchoIsRedacted(t *testing.T) {
	cs := newChainServer(t, func(http.ResponseWriter, *http.Request) {})
	echo := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/v2/oauth2/token" {
			return http.DefaultTransport.RoundTrip(r)
		}
		return nil, fmt.Errorf("proxy refused %q (%s, %s)", r.Header.Get("Authorization"), echoWebhookSecret, echoAdminToken)
	})
	var logs testkit.LogBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hc := NewClient(Options{BaseURL: cs.URL, ClientID: walkClientID, ClientSecret: walkClientSecret,
		Redact: []string{echoWebhookSecret, echoAdminToken}, PerMinute: 1000, Logger: logger,
		MaxWait: time.Millisecond, RetryMax: 1, Base: echo})
	req, _ := http.NewRequest(http.MethodGet, cs.URL+"/v2/conversations/1", nil)
	_, err := hc.Do(req)
	if err == nil || !strings.Contains(err.Error(), "proxy refused") {
		t.Fatalf("err = %v, want the proxy's echo", err)
	}
	if cs.tokens.Load() == 0 {
		t.Fatal("no token was issued, so this test proves nothing")
	}
	for _, secret := range []string{"tok-1-abcdef", echoWebhookSecret, echoAdminToken} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error holds %q: %v", secret, err)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs hold %q:\n%s", secret, logs.String())
		}
	}
}

func TestRedactorKeepsTheLatestTokens(t *testing.T) {
	r := newRedactor("", "s3cret")
	for i := range keptTokens + 2 {
		r.issuedToken(&oauth2.Token{AccessToken: fmt.Sprintf("token-%d", i)})
	}
	got := r.redact("token-0 token-5 s3cret")
	if want := "token-0 [redacted] [redacted]"; got != want {
		t.Errorf("redact = %q, want %q (the oldest token forgotten, the newest and the secret redacted)", got, want)
	}
	if got := r.redact("nothing to hide"); got != "nothing to hide" {
		t.Errorf("an empty secret redacted something: %q", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
