package testkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Recorder is a local HTTP endpoint that keeps the body of every request
// and answers 200 "ok": a webhook receiver (Slack's incoming webhook) for
// tests that check what a daemon sends. It stops when the test ends.
type Recorder struct {
	URL    string
	mu     sync.Mutex
	bodies []string
}

// NewRecorder starts a Recorder on 127.0.0.1.
func NewRecorder(tb testing.TB) *Recorder {
	tb.Helper()
	r := &Recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	tb.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// Bodies returns the bodies received so far, in order.
func (r *Recorder) Bodies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bodies...)
}
