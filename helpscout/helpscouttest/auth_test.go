package helpscouttest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

func TestTokenEndpoint(t *testing.T) {
	f := setup(t, helpscouttest.Options{ClientID: "id", ClientSecret: "secret"})
	tests := []struct {
		name        string
		contentType string
		body        string
		basic       [2]string
		wantCode    int
		wantError   string
	}{
		{name: "form", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=client_credentials&client_id=id&client_secret=secret", wantCode: 200},
		{name: "basic auth", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=client_credentials", basic: [2]string{"id", "secret"}, wantCode: 200},
		{name: "json body is rejected", contentType: "application/json",
			body: `{"grant_type":"client_credentials","client_id":"id","client_secret":"secret"}`, wantCode: 400, wantError: "invalid_request"},
		{name: "wrong secret", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=client_credentials&client_id=id&client_secret=nope", wantCode: 401, wantError: "invalid_client"},
		{name: "missing credentials", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=client_credentials", wantCode: 401, wantError: "invalid_client"},
		{name: "other grant", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=password&client_id=id&client_secret=secret", wantCode: 400, wantError: "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.ts.URL+"/v2/oauth2/token", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			if tt.basic[0] != "" {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			r := response{code: resp.StatusCode, header: resp.Header, body: b}
			if r.code != tt.wantCode {
				t.Fatalf("code = %d, want %d (%s)", r.code, tt.wantCode, b)
			}
			m := r.json(t)
			if tt.wantError != "" {
				if got := m["error"]; got != tt.wantError {
					t.Errorf("error = %v, want %s", got, tt.wantError)
				}
				if _, ok := m["error_description"].(string); !ok {
					t.Errorf("no error_description in %s", b)
				}
				return
			}
			if got, want := string(b[:len(`{"token_type":"bearer","access_token":`)]), `{"token_type":"bearer","access_token":`; got != want {
				t.Errorf("body starts %q, want %q (recorded key order)", got, want)
			}
			if got := m["expires_in"]; got != float64(172800) {
				t.Errorf("expires_in = %v, want 172800", got)
			}
			if got := r.header.Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			tok := m["access_token"].(string)
			if got := f.doTok(t, tok, "GET", "/v2/users/me", "").code; got != 200 {
				t.Errorf("GET /v2/users/me with the new token = %d, want 200", got)
			}
		})
	}
	if got, want := f.srv.Stats().Requests[helpscouttest.RouteToken], len(tests); got != want {
		t.Errorf("token requests counted = %d, want %d", got, want)
	}
}

func TestTokenEndpointRejectsGET(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	r := f.do(t, "GET", "/v2/oauth2/token", "")
	if r.code != http.StatusMethodNotAllowed {
		t.Errorf("code = %d, want 405", r.code)
	}
}

func TestBearerCheck(t *testing.T) {
	f := setup(t, helpscouttest.Options{RateLimitPerMinute: 100})
	tests := []struct {
		name, token string
		wantError   string
	}{
		{"missing", "-", "unauthorized"},
		{"unknown", "not-a-token", "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.doTok(t, tt.token, "GET", "/v2/conversations", "")
			if r.code != 401 {
				t.Fatalf("code = %d, want 401", r.code)
			}
			if got := r.json(t)["error"]; got != tt.wantError {
				t.Errorf("error = %v, want %s", got, tt.wantError)
			}
			if !strings.HasPrefix(r.header.Get("Www-Authenticate"), `Bearer realm="service" error=`) {
				t.Errorf("Www-Authenticate = %q", r.header.Get("Www-Authenticate"))
			}
			// As recorded: the gateway's 401 has neither of these.
			for _, h := range []string{"Correlation-Id", "X-Ratelimit-Limit-Minute"} {
				if v := r.header.Get(h); v != "" {
					t.Errorf("%s = %q on a 401, want absent", h, v)
				}
			}
		})
	}
	if got := f.srv.RateLimitRemaining(); got != 100 {
		t.Errorf("401s consumed rate budget: remaining %d, want 100", got)
	}
	if got := f.srv.Stats().Unauthorized; got != 2 {
		t.Errorf("Unauthorized = %d, want 2", got)
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Run("ttl on the wall clock", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{TokenTTL: time.Hour})
		if got := f.do(t, "GET", "/v2/mailboxes", "").code; got != 200 {
			t.Fatalf("fresh token: %d", got)
		}
		f.clock.Advance(24 * time.Hour) // data clock: must not expire tokens
		if got := f.do(t, "GET", "/v2/mailboxes", "").code; got != 200 {
			t.Fatalf("after data clock moved: %d, want 200", got)
		}
		f.wall.Advance(time.Hour)
		r := f.do(t, "GET", "/v2/mailboxes", "")
		if r.code != 401 {
			t.Fatalf("after TTL: %d, want 401", r.code)
		}
		want := map[string]any{"error": "invalid_token", "error_description": "The access token is invalid or has expired"}
		if diff := cmp.Diff(r.json(t), want); diff != "" {
			t.Errorf("401 body (-got +want):\n%s", diff)
		}
		if got, want := r.header.Get("Www-Authenticate"), `Bearer realm="service" error="invalid_token" error_description="The access token is invalid or has expired"`; got != want {
			t.Errorf("Www-Authenticate = %q, want %q", got, want)
		}
	})
	t.Run("forced expiry", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		f.srv.ExpireTokens()
		if got := f.do(t, "GET", "/v2/mailboxes", "").code; got != 401 {
			t.Fatalf("after ExpireTokens: %d, want 401", got)
		}
		r := f.token2(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"demo-secret"}})
		if r.code != 200 {
			t.Fatalf("new token: %d %s", r.code, r.body)
		}
		if got := f.doTok(t, r.json(t)["access_token"].(string), "GET", "/v2/mailboxes", "").code; got != 200 {
			t.Errorf("with a new token: %d, want 200", got)
		}
	})
	t.Run("SetTokenTTL changes expires_in", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		f.srv.SetTokenTTL(2 * time.Hour)
		r := f.token2(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"demo-secret"}})
		if got := r.json(t)["expires_in"]; got != float64(7200) {
			t.Errorf("expires_in = %v, want 7200", got)
		}
	})
}

// TestClient checks the authenticated client tests use in place of main's
// OAuth2 transport: its token passes the gateway without a token request,
// and stops passing when the fake expires tokens.
func TestClient(t *testing.T) {
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	hc := fake.Client()
	get := func() int {
		t.Helper()
		resp, err := hc.Get(ts.URL + "/v2/mailboxes")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != http.StatusOK {
		t.Errorf("GET /v2/mailboxes = %d, want 200", got)
	}
	if got := fake.Stats().Requests[helpscouttest.RouteToken]; got != 0 {
		t.Errorf("token requests = %d, want 0 (the token is issued directly)", got)
	}
	fake.ExpireTokens()
	if got := get(); got != http.StatusUnauthorized {
		t.Errorf("after ExpireTokens: GET /v2/mailboxes = %d, want 401", got)
	}
}
