package helpscout

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewClient(t *testing.T) {
	t.Parallel()
	c := NewClient(nil)
	if got, want := c.BaseURL.String(), DefaultBaseURL; got != want {
		t.Errorf("BaseURL = %q, want %q", got, want)
	}
	for name, svc := range map[string]any{
		"Conversations": c.Conversations, "Threads": c.Threads, "Users": c.Users,
		"Teams": c.Teams, "Mailboxes": c.Mailboxes,
	} {
		if svc == nil {
			t.Errorf("%s service is nil", name)
		}
	}
	if c.Conversations.client != c {
		t.Error("services do not point back at their client")
	}
}

func TestNewClientLeavesCallerClientAlone(t *testing.T) {
	t.Parallel()
	called := false
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { called = true; return nil }}
	c := NewClient(hc)
	if c.client == hc {
		t.Fatal("client shares the caller's *http.Client")
	}
	_ = hc.CheckRedirect(nil, nil)
	if !called {
		t.Error("caller's CheckRedirect was replaced")
	}
}

func TestWithBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "no trailing slash", in: "https://api.helpscout.net", want: "https://api.helpscout.net/"},
		{name: "trailing slash", in: "http://127.0.0.1:9090/", want: "http://127.0.0.1:9090/"},
		{name: "path kept", in: "http://proxy.local/hs", want: "http://proxy.local/hs/"},
		{name: "relative", in: "/v2", wantErr: true},
		{name: "ftp", in: "ftp://example.com/", wantErr: true},
		{name: "credentials", in: "https://user:secret@example.com/", wantErr: true},
		{name: "query", in: "https://example.com/?token=x", wantErr: true},
		{name: "unparsable", in: "http://[::1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			orig := NewClient(nil)
			c, err := orig.WithBaseURL(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("WithBaseURL(%q) = nil error, want one", tt.in)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q leaks the URL password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("WithBaseURL(%q): %v", tt.in, err)
			}
			if got := c.BaseURL.String(); got != tt.want {
				t.Errorf("BaseURL = %q, want %q", got, tt.want)
			}
			if c.Users.client != c {
				t.Error("copy's services point at the original client")
			}
			if orig.BaseURL.String() != DefaultBaseURL {
				t.Errorf("original changed to %q", orig.BaseURL)
			}
		})
	}
}

func TestNewRequest(t *testing.T) {
	t.Parallel()
	c, err := NewClient(nil).WithBaseURL("http://fake.local/hs")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantURL string
		body                any
		wantBody            string
	}{
		{name: "relative", path: "v2/users/me", wantURL: "http://fake.local/hs/v2/users/me"},
		{name: "leading slash keeps base path", path: "/v2/users/me", wantURL: "http://fake.local/hs/v2/users/me"},
		{name: "query", path: "v2/conversations?status=all", wantURL: "http://fake.local/hs/v2/conversations?status=all"},
		{name: "json body", path: "v2/conversations/1", body: patchOp{Op: "remove", Path: "/assignTo"},
			wantURL: "http://fake.local/hs/v2/conversations/1", wantBody: `{"op":"remove","path":"/assignTo"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := c.NewRequest(context.Background(), http.MethodPost, tt.path, tt.body)
			if err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
			if got := req.URL.String(); got != tt.wantURL {
				t.Errorf("URL = %q, want %q", got, tt.wantURL)
			}
			if got := req.Header.Get("User-Agent"); got != defaultUserAgent {
				t.Errorf("User-Agent = %q, want %q", got, defaultUserAgent)
			}
			if got := req.Header.Get("Accept"); got != acceptHeader {
				t.Errorf("Accept = %q, want %q", got, acceptHeader)
			}
			if tt.body == nil {
				if req.Body != nil || req.Header.Get("Content-Type") != "" {
					t.Error("request without body has a body or Content-Type")
				}
				return
			}
			if got := req.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			data, _ := io.ReadAll(req.Body)
			if got := string(data); got != tt.wantBody {
				t.Errorf("body = %s, want %s", got, tt.wantBody)
			}
		})
	}
}

func TestNewRequestErrors(t *testing.T) {
	t.Parallel()
	c := NewClient(nil)
	if _, err := c.NewRequest(context.Background(), http.MethodPost, "v2/x", map[string]any{"f": func() {}}); err == nil {
		t.Error("unencodable body: want an error")
	}
	c.BaseURL.Path = "/no-slash"
	if _, err := c.NewRequest(context.Background(), http.MethodGet, "v2/x", nil); err == nil {
		t.Error("base URL without trailing slash: want an error")
	}
}

func TestDoResponseFacts(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/v2/thing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit-Minute", "400")
		w.Header().Set("X-RateLimit-Remaining-Minute", "395")
		w.Header().Set("Resource-ID", "2535529292")
		w.Header().Set("Correlation-Id", "d48eb0d4#52197468")
		writeJSON(t, w, http.StatusCreated, `{"id": 7}`)
	})
	req, err := c.NewRequest(context.Background(), http.MethodGet, "v2/thing", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ ID int64 }
	resp, err := c.Do(req, &got)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if got.ID != 7 {
		t.Errorf("decoded id = %d, want 7", got.ID)
	}
	if diff := cmp.Diff(Rate{Limit: 400, Remaining: 395}, resp.Rate); diff != "" {
		t.Errorf("Rate mismatch (-want +got):\n%s", diff)
	}
	if resp.ResourceID != 2535529292 {
		t.Errorf("ResourceID = %d, want 2535529292", resp.ResourceID)
	}
	if resp.CorrelationID != "d48eb0d4#52197468" {
		t.Errorf("CorrelationID = %q", resp.CorrelationID)
	}
}

func TestDoBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		limit   int64
		wantErr error // checked with errors.Is; nil means success
		anyErr  bool
	}{
		{name: "no content", status: http.StatusNoContent},
		{name: "empty 200 is an error", status: http.StatusOK, body: "", wantErr: io.ErrUnexpectedEOF},
		{name: "truncated json", status: http.StatusOK, body: `{"id": 1, "na`, anyErr: true},
		{name: "over the limit", status: http.StatusOK, body: `{"id": 1, "pad": "` + strings.Repeat("x", 200) + `"}`, limit: 100, wantErr: ErrResponseTooLarge},
		{name: "at the limit", status: http.StatusOK, body: `{"id": 1}`, limit: int64(len(`{"id": 1}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			c.MaxResponseBytes = tt.limit
			mux.HandleFunc("/v2/thing", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(t, w, tt.status, tt.body)
			})
			req, _ := c.NewRequest(context.Background(), http.MethodGet, "v2/thing", nil)
			var v struct{ ID int64 }
			dst := any(&v)
			if tt.status == http.StatusNoContent {
				dst = nil
			}
			_, err := c.Do(req, dst)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Do error = %v, want %v", err, tt.wantErr)
				}
			case tt.anyErr:
				if err == nil {
					t.Error("Do = nil error, want one")
				}
			case err != nil:
				t.Errorf("Do: %v", err)
			}
		})
	}
}

func TestDoDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	var followed atomic.Bool
	mux.HandleFunc("/v2/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/v2/new", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/v2/new", func(w http.ResponseWriter, r *http.Request) { followed.Store(true) })
	req, _ := c.NewRequest(context.Background(), http.MethodGet, "v2/old", nil)
	_, err := c.Do(req, nil)
	var er *ErrorResponse
	if !errors.As(err, &er) || er.StatusCode != http.StatusMovedPermanently {
		t.Errorf("Do error = %v, want an *ErrorResponse with 301", err)
	}
	if followed.Load() {
		t.Error("the redirect was followed")
	}
}

func TestDoTransportAndContextErrors(t *testing.T) {
	t.Parallel()
	c, mux := setup(t)
	mux.HandleFunc("/v2/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := c.NewRequest(ctx, http.MethodGet, "v2/slow", nil)
	if _, err := c.Do(req, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Do with canceled context = %v, want context.Canceled", err)
	}

	dead, err := NewClient(nil).WithBaseURL("http://127.0.0.1:1/")
	if err != nil {
		t.Fatal(err)
	}
	req, _ = dead.NewRequest(context.Background(), http.MethodGet, "v2/users?email=ann%40example.com", nil)
	req.Header.Set("Authorization", "Bearer sekrit-token")
	_, err = dead.Do(req, nil)
	if err == nil {
		t.Fatal("Do against a closed port = nil error")
	}
	for _, leak := range []string{"sekrit", "email", "example.com"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("transport error %q contains %q", err, leak)
		}
	}
	if !strings.Contains(err.Error(), "/v2/users") {
		t.Errorf("transport error %q does not name the path", err)
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header map[string]string
		want   Rate
	}{
		{name: "none", want: Rate{}},
		{name: "normal", header: map[string]string{"X-RateLimit-Limit-Minute": "400", "X-RateLimit-Remaining-Minute": "0", "X-RateLimit-Retry-After": "17"},
			want: Rate{Limit: 400, RetryAfter: 17 * time.Second}},
		{name: "standard retry-after fallback", header: map[string]string{"Retry-After": "3"}, want: Rate{RetryAfter: 3 * time.Second}},
		{name: "help scout header wins", header: map[string]string{"X-RateLimit-Retry-After": "5", "Retry-After": "60"}, want: Rate{RetryAfter: 5 * time.Second}},
		{name: "garbage ignored", header: map[string]string{"X-RateLimit-Limit-Minute": "lots", "X-RateLimit-Retry-After": "-4"}, want: Rate{}},
		{name: "http date not understood", header: map[string]string{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, want: Rate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if diff := cmp.Diff(tt.want, parseRate(h)); diff != "" {
				t.Errorf("parseRate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
