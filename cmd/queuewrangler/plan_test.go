package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

// syncedWithoutRoster syncs a seeded fake account into a fresh mirror and
// leaves the QW_ variables set for `plan`. Without a roster everyone is an
// ST, so the stuck tickets have no senior to go to: the plan lists them as
// no_senior, the case the README names the key for.
func syncedWithoutRoster(t *testing.T) {
	t.Helper()
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{RateLimitPerMinute: 100_000})
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 11, Conversations: 150, Mailboxes: 1, Agents: 4}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"QW_HELPSCOUT_CLIENT_ID": "demo", "QW_HELPSCOUT_CLIENT_SECRET": "demo-secret", "QW_HELPSCOUT_API_URL": ts.URL,
		"QW_HELPSCOUT_WEBHOOK_SECRET": "", "QW_MAILBOXES": "", "QW_DB_PATH": filepath.Join(t.TempDir(), "qw.db"),
		"QW_ROSTER_FILE": "", "QW_OFFICE_HOURS": "", "QW_LOG_FORMAT": "text", "QW_LOG_LEVEL": "warn",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	if code, _, stderr := runMain(t, "sync"); code != exitOK {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
}

// TestPlanJSONKeys: `plan --json` gave flags and no_senior as the
// balancer's Go structs (ConversationID, WaitingFor in nanoseconds, null
// when empty) beside moves in snake_case with seconds. A script reads them
// all the same way now: every entry has the moves' style of keys, the wait
// in whole seconds, and an empty list is [] rather than null.
func TestPlanJSONKeys(t *testing.T) {
	syncedWithoutRoster(t)
	code, out, stderr := runMain(t, "plan", "--json")
	if code != exitOK {
		t.Fatalf("plan --json: exit %d: %s", code, stderr)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	flagKeys := []string{"agent_id", "agent_name", "conversation_id", "explanation", "number", "reason", "waiting_seconds"}
	for _, list := range []string{"flags", "no_senior"} {
		raw, ok := got[list]
		if !ok || string(raw) == "null" {
			t.Errorf("%s: %s, want a list ([] when empty)", list, raw)
			continue
		}
		var entries []map[string]any
		if err := json.Unmarshal(raw, &entries); err != nil {
			t.Errorf("%s: %v", list, err)
			continue
		}
		if list == "no_senior" && len(entries) == 0 {
			t.Errorf("no_senior is empty: without a roster nobody is a senior, so the seeded account's stuck tickets should be listed")
		}
		for _, e := range entries {
			keys := make([]string, 0, len(e))
			for k := range e {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, flagKeys) {
				t.Errorf("%s entry keys %v, want %v", list, keys, flagKeys)
				break
			}
			// Stuck means waiting past QW_STUCK_AFTER (4h): seconds, not nanoseconds.
			if w, _ := e["waiting_seconds"].(float64); w < 4*3600 || w > 365*24*3600 {
				t.Errorf("%s #%v waits %v seconds, want more than 4h and less than a year", list, e["number"], e["waiting_seconds"])
			}
			if name, _ := e["agent_name"].(string); name == "" {
				t.Errorf("%s #%v names no agent: %v", list, e["number"], e)
			}
		}
	}
}

// TestPlanTableCountsWhatItLists: the table's header said "0 flags" and
// then listed every stuck ticket no senior can take; its counts now add
// up to the lines that follow.
func TestPlanTableCountsWhatItLists(t *testing.T) {
	syncedWithoutRoster(t)
	code, out, stderr := runMain(t, "plan")
	if code != exitOK {
		t.Fatalf("plan: exit %d: %s", code, stderr)
	}
	header, _, _ := strings.Cut(out, "\n")
	lines := map[string]int{}
	for l := range strings.SplitSeq(out, "\n") {
		for _, prefix := range []string{"flag #", "no senior #"} {
			if strings.HasPrefix(l, prefix) {
				lines[prefix]++
			}
		}
	}
	if lines["no senior #"] == 0 {
		t.Fatalf("no ticket listed as having no senior to take it; the test needs some:\n%s", out)
	}
	for prefix, pattern := range map[string]string{"flag #": `(\d+) flags?\b`, "no senior #": `(\d+) stuck with no senior`} {
		m := regexp.MustCompile(pattern).FindStringSubmatch(header)
		n := 0
		if m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if n != lines[prefix] {
			t.Errorf("header %q counts %d for %q lines, the table lists %d", header, n, prefix, lines[prefix])
		}
	}
	if t.Failed() {
		t.Logf("plan:\n%s", out)
	}
}
