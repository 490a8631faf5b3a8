package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestDemoNewcomersRun is the newcomer's run: `queuewrangler demo` on a
// fresh machine shows the simulated team with load and first response
// counts, and the daemon answers for its proposals. It does not wait for a
// move: a move is made only when it pays (issue 15), and in the demo's
// team the first comes a few simulated hours in, beyond this window; the
// e2e tests against the fake cover moves end to end. The deadline bounds
// a functional wait, not a speed.
func TestDemoNewcomersRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var logs testkit.LogBuffer
	go func() {
		done <- Main(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--seed", "3"}, pw, &logs)
		pw.Close()
	}()
	base, banner := "", ""
	sc := bufio.NewScanner(pr)
	pageLine := regexp.MustCompile(`queue page\s+(http://\S+)/`)
	for sc.Scan() {
		banner += sc.Text() + "\n"
		if m := pageLine.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatal("demo printed no queue page URL")
	}
	// The recommended configuration, said before anything else.
	if !strings.Contains(banner, "QW_ROUTING=steer, the recommended one") {
		t.Errorf("the demo's first lines do not say which configuration it runs:\n%s", banner)
	}
	go io.Copy(io.Discard, pr)

	deadline := time.Now().Add(90 * time.Second)
	var loaded, proposals, frt, steered bool
	for time.Now().Before(deadline) && !(loaded && proposals && frt && steered) {
		time.Sleep(time.Second)
		var agents struct {
			Agents []struct {
				Name string  `json:"name"`
				Load float64 `json:"weighted_load"`
			} `json:"agents"`
			Routing struct {
				Running string `json:"running"`
				Inboxes []struct {
					Enabled bool `json:"enabled"`
				} `json:"inboxes"`
			} `json:"routing"`
		}
		if getJSON(t, base+"/api/v1/agents", &agents) {
			for _, a := range agents.Agents {
				loaded = loaded || a.Load > 0
			}
			// The daemon reads the fake's routing, on, and steers it.
			rt := agents.Routing
			steered = steered || rt.Running == "steer" && len(rt.Inboxes) == 1 && rt.Inboxes[0].Enabled
		}
		var props struct {
			Proposals []struct{ Status string } `json:"proposals"`
		}
		proposals = proposals || getJSON(t, base+"/api/v1/proposals", &props)
		frt = frt || firstResponseCount(t, base+"/metrics") > 0
	}
	if !loaded || !proposals || !frt || !steered {
		t.Errorf("after the deadline: agents with load %v, proposals listed %v, first response observations %v, routing steered %v",
			loaded, proposals, frt, steered)
	}
	// On loopback the demo names its own hosts: no warning to open with,
	// and a page asked for under another name is refused.
	if strings.Contains(logs.String(), "QW_ALLOWED_HOSTS") {
		t.Errorf("the demo warns about QW_ALLOWED_HOSTS:\n%s", logs.String())
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/agents", nil)
	req.Host = "rebound.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("a request for Host rebound.example: %v %v, want 421", resp, err)
	} else {
		resp.Body.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exit code %d after Ctrl-C, want 0", code)
		}
	case <-time.After(30 * time.Second):
		t.Error("demo did not stop after cancellation")
	}
}

func getJSON(t *testing.T, url string, v any) bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
}

// firstResponseCount sums helpscout_first_response_seconds_count.
func firstResponseCount(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "helpscout_first_response_seconds_count") {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}
