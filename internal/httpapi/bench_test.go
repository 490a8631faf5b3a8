package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// BenchmarkWebhookAccept measures signed webhook events accepted per second
// on loopback, each verified and committed to SQLite before its 200.
func BenchmarkWebhookAccept(b *testing.B) {
	db := testkit.OpenStore(b)
	s := New(Options{WebhookSecret: secret, Inbox: db})
	ts := httptest.NewServer(s)
	defer ts.Close()
	client := ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	var seq atomic.Int64
	var failures atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := seq.Add(1)
			body := fmt.Appendf(nil, `{"id":%d,"number":%d,"threads":2,"type":"email","status":"active","state":"published","mailboxId":85,"createdAt":"2026-03-02T09:14:05Z","userUpdatedAt":"2026-03-02T10:02:41Z"}`, id, id)
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/webhooks/helpscout", bytes.NewReader(body))
			req.Header.Set("X-HelpScout-Event", "convo.customer.reply.created")
			req.Header.Set("X-HelpScout-Signature", sign(secret, string(body)))
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				failures.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d deliveries failed", f)
	}
	pending, err := db.PendingWebhooks(context.Background(), 10, b.N+1)
	if err != nil {
		b.Fatal(err)
	}
	if len(pending) != b.N {
		b.Fatalf("inbox holds %d events, want every one of the %d acknowledged", len(pending), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
