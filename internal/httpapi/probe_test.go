package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbeURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:9000", "http://127.0.0.1:9000/readyz"},
		{"[::]:8080", "http://127.0.0.1:8080/readyz"},
		{"127.0.0.1:8081", "http://127.0.0.1:8081/readyz"},
		{"[::1]:8080", "http://[::1]:8080/readyz"},
		{"qw.internal:80", "http://qw.internal:80/readyz"},
	} {
		if got, err := ProbeURL(tt.addr); err != nil || got != tt.want {
			t.Errorf("ProbeURL(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
		}
	}
	if _, err := ProbeURL("8080"); err == nil {
		t.Error(`ProbeURL("8080") succeeded; want an error`)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	var ready atomic.Bool
	s := New(Options{Ready: func() (bool, string) { return ready.Load(), "the first sync has not finished" }})
	ts := httptest.NewServer(s)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	if err := Probe(context.Background(), http.DefaultClient, addr, 5*time.Second); err == nil || err.Error() != "not ready (HTTP 503): the first sync has not finished" {
		t.Errorf("probe before ready: %v", err)
	}
	ready.Store(true)
	if err := Probe(context.Background(), http.DefaultClient, addr, 5*time.Second); err != nil {
		t.Errorf("probe when ready: %v", err)
	}
	ts.Close()
	if err := Probe(context.Background(), http.DefaultClient, addr, 5*time.Second); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("probe of a stopped daemon: %v", err)
	}
}
