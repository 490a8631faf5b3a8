package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// successfulSyncs reads the daemon's /metrics at addr: the syncs that ended
// without error (queuewrangler_syncs_total less the failures), or false with
// the reason.
func successfulSyncs(addr string) (float64, bool, string) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false, err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Sprintf("/metrics answered %d", resp.StatusCode)
	}
	values := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || (name != "queuewrangler_syncs_total" && name != "queuewrangler_sync_failures_total") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			values[name] = v
		}
	}
	if _, ok := values["queuewrangler_syncs_total"]; !ok {
		return 0, false, "/metrics has no queuewrangler_syncs_total"
	}
	return values["queuewrangler_syncs_total"] - values["queuewrangler_sync_failures_total"], true, ""
}

// waitForSyncs waits until n more syncs have succeeded than when it was
// called: the daemon has then polled Help Scout n times from start to end
// (and its balancer, on the same interval, has had its turns between them).
func waitForSyncs(t testing.TB, addr string, n int, timeout time.Duration) {
	t.Helper()
	var start float64
	testkit.WaitFor(t, timeout, "the daemon's /metrics", func() (bool, string) {
		v, ok, why := successfulSyncs(addr)
		start = v
		return ok, why
	})
	testkit.WaitFor(t, timeout, fmt.Sprintf("%d more successful syncs", n), func() (bool, string) {
		v, ok, why := successfulSyncs(addr)
		if !ok {
			return false, why
		}
		return v >= start+float64(n), fmt.Sprintf("%v of %d so far", v-start, n)
	})
}
