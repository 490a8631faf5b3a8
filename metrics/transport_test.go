package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The rate budget is Help Scout's figure: until a response has carried
// X-RateLimit-Remaining-Minute there is none to export, and a 0 would say
// the budget is spent (the demo's fake without a limit never sends one).
func TestRateRemainingOnlyOnceReported(t *testing.T) {
	const name = "queuewrangler_helpscout_rate_limit_remaining"
	var header string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if header != "" {
			w.Header().Set("X-RateLimit-Remaining-Minute", header)
		}
	}))
	defer ts.Close()
	reg := prometheus.NewPedanticRegistry()
	m := NewInstruments(reg)
	client := &http.Client{Transport: m.InstrumentTransport(http.DefaultTransport)}
	get := func() {
		t.Helper()
		resp, err := client.Get(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	get()
	if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 0 {
		t.Fatalf("after a response without the header: %d series (err %v), want none", n, err)
	}

	header = "37"
	get()
	const want = `
# HELP queuewrangler_helpscout_rate_limit_remaining Requests left in Help Scout's current rate-limit minute, from X-RateLimit-Remaining-Minute; absent until a response has carried that header.
# TYPE queuewrangler_helpscout_rate_limit_remaining gauge
queuewrangler_helpscout_rate_limit_remaining 37
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), name); err != nil {
		t.Error(err)
	}
}
