package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// loadResult is what one load run measured.
type loadResult struct {
	sent, ok, failed int64
	elapsed          time.Duration
	p50, p99         time.Duration
}

func (r loadResult) perSecond() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// hammer posts signed conversation events from senders goroutines for d.
func hammer(t *testing.T, url string, senders int, d time.Duration) loadResult {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders, MaxConnsPerHost: senders}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var seq, ok, failed atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(stop) {
				id := seq.Add(1)
				body := fmt.Appendf(nil, `{"id":%d,"number":%d,"threads":1,"status":"active","state":"published","mailboxId":1,"createdAt":"2026-03-02T09:14:05Z"}`, id, id)
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("X-HelpScout-Event", "convo.created")
				req.Header.Set("X-HelpScout-Signature", sign(secret, string(body)))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	r := loadResult{sent: seq.Load(), ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		r.p50, r.p99 = latencies[n/2], latencies[n*99/100]
	}
	return r
}

// TestWebhookLoad hits the webhook endpoint with 200 concurrent senders and
// compares it with a bare handler that only reads the body, in the same
// run. Nothing acknowledged may be lost. QW_SOAK=1 runs 30 seconds; the
// default is a short run. Figures are logged, never asserted: the machine
// is shared.
func TestWebhookLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	d := 2 * time.Second
	if os.Getenv("QW_SOAK") == "1" {
		d = 30 * time.Second
	}
	const senders = 200
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer bare.Close()
	baseline := hammer(t, bare.URL, senders, d)

	db := testkit.OpenStore(t)
	ts := httptest.NewServer(New(Options{WebhookSecret: secret, Inbox: db}))
	defer ts.Close()
	got := hammer(t, ts.URL+"/webhooks/helpscout", senders, d)

	stored, err := db.PendingWebhooks(context.Background(), 10, int(got.sent)+1)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(stored)) != got.ok {
		t.Errorf("acknowledged %d events but the inbox holds %d", got.ok, len(stored))
	}
	if got.failed > 0 {
		t.Errorf("%d of %d deliveries failed", got.failed, got.sent)
	}
	t.Logf("webhooks: %d senders for %s: %.0f events/s, p50 %s, p99 %s, %d errors", senders, d, got.perSecond(), got.p50, got.p99, got.failed)
	t.Logf("bare handler: %.0f req/s, p50 %s, p99 %s; webhook/bare ratio %.3f", baseline.perSecond(), baseline.p50, baseline.p99, got.perSecond()/baseline.perSecond())
}
