package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
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

// TestDemoRefusesAFileAnEarlierRunLeft: every demo starts a new simulated
// account, on Monday 09:00 of its week with the same customers, so the
// mirror, cursors, proposals and audit an earlier run left in its --db
// file belong to another timeline and would read as the future until the
// new clock caught up. The demo refuses such a file before it starts
// anything: exit 2, a message naming the file and the remedy, and the
// file's directory exactly as it was.
func TestDemoRefusesAFileAnEarlierRunLeft(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "demo.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.AddWebhook(context.Background(), "convo.created", []byte(`{"id":1}`), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before := dirContents(t, dir)

	// The bound is for a demo that starts anyway, which runs until stopped.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	code := Main(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--db", path}, &stdout, &stderr)
	if code != exitUsage {
		t.Errorf("demo --db on an earlier run's file: exit code %d, want %d", code, exitUsage)
	}
	for _, want := range []string{path, "new simulated account", "name a file that does not exist yet, or remove this one"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the demo's refusal does not say %q:\n%s", want, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("the demo printed, though it refused its file:\n%s", stdout.String())
	}
	var help strings.Builder
	if code := Main(ctx, []string{"demo", "-h"}, &help, io.Discard); code != exitOK || !strings.Contains(help.String(), "a file an earlier run left is refused") {
		t.Errorf("demo -h (exit code %d) does not say that a file an earlier run left is refused:\n%s", code, help.String())
	}
	if after := dirContents(t, dir); !maps.Equal(after, before) {
		t.Errorf("the file's directory after the refusal:\n%v\nbefore:\n%v", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
	}
}

// dirContents maps each file in dir to its content.
func dirContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}
