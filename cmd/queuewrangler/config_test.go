package main

import (
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
)

// clearEnv removes every QW_ variable for the test, whatever the host has:
// the settings' (config.Keys) and any other QW_ name, such as the test
// switches CI exports (QW_E2E, QW_SOAK, QW_SAMPLES_DIR), which serve and
// check name as unknown variables. A test of what they say then sees the
// environment it builds, on CI as on a bare machine. t.Setenv puts each
// back when the test ends.
func clearEnv(t *testing.T) {
	t.Helper()
	names := config.Keys()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); len(name) > len(config.Prefix) && strings.EqualFold(name[:len(config.Prefix)+1], config.Prefix+"_") {
			names = append(names, name)
		}
	}
	for _, k := range names {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestServeReportsEveryConfigProblemAtOnce(t *testing.T) {
	clearEnv(t)
	roster := filepath.Join(t.TempDir(), "roster.json")
	if err := os.WriteFile(roster, []byte(`{"agents":[{"email":"sam@example.com","level":9},{"id":5,"role":"boss"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QW_ROSTER_FILE", roster)
	t.Setenv("QW_MODE", "yolo")
	t.Setenv("QW_ROUTING", "balanced")
	t.Setenv("QW_BACKLOG", "soon")
	t.Setenv("QW_OFF_SHIFT_HANDOVER", "some")
	t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "topsecret-value")
	stderr := wantUsageError(t, "serve",
		"QW_HELPSCOUT_CLIENT_ID: required",
		"QW_MODE",
		`QW_ROUTING: "balanced" is not one of helpscout, steer, own`,
		`QW_BACKLOG: "soon" is not idle, oldest or a duration like 30m`,
		`QW_OFF_SHIFT_HANDOVER: "some" is not new or all`,
		"agents[0] (sam@example.com): level: 9",
		"agents[1] (id 5): role: \"boss\"",
	)
	if strings.Contains(stderr, "topsecret-value") {
		t.Errorf("the client secret leaked into the error: %s", stderr)
	}
	// The variables' problems first, then the roster file's, which are
	// many lines of one file: not a file's lines between two variables.
	if last, first := strings.LastIndex(stderr, "- QW_OFF_SHIFT_HANDOVER"), strings.Index(stderr, "- QW_ROSTER_FILE"); first < last {
		t.Errorf("a roster problem comes before a variable's:\n%s", stderr)
	}
}

// TestServeNamesTheListenAddressItCannotTake: a port already taken is a
// failure of the start (exit code 1) that names the variable to change.
func TestServeNamesTheListenAddressItCannotTake(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	clearEnv(t)
	t.Setenv("QW_HELPSCOUT_CLIENT_ID", "id")
	t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "secret")
	t.Setenv("QW_DB_PATH", filepath.Join(t.TempDir(), "qw.db"))
	t.Setenv("QW_LISTEN_ADDR", taken.Addr().String())
	code, _, stderr := runMain(t, "serve")
	if want := "QW_LISTEN_ADDR " + taken.Addr().String() + ": listen tcp"; code != exitFailure || !strings.Contains(stderr, want) {
		t.Errorf("exit code %d, stderr %q; want %d and %q", code, stderr, exitFailure, want)
	}
}

// wantUsageError runs command and checks that it exits 2 with every one of
// problems in its error output, which it returns.
func wantUsageError(t *testing.T, command string, problems ...string) string {
	t.Helper()
	code, _, stderr := runMain(t, command)
	if code != exitUsage {
		t.Fatalf("exit code %d, want %d; stderr %s", code, exitUsage, stderr)
	}
	for _, want := range problems {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	return stderr
}

// TestModeIsCheckedByEveryCommand: QW_MODE's values are the rebalancer's,
// checked in main beside config's own problems, for sync too.
func TestModeIsCheckedByEveryCommand(t *testing.T) {
	for _, command := range []string{"serve", "sync", "plan"} {
		t.Run(command, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("QW_MODE", "yolo")
			t.Setenv("QW_LOG_FORMAT", "xml")
			code, _, stderr := runMain(t, command)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stderr %s", code, exitUsage, stderr)
			}
			for _, want := range []string{`QW_MODE: "yolo" is not one of off, propose, apply`, "QW_LOG_FORMAT"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
	code, out, _ := runMain(t, "help")
	line := out[strings.Index(out, "QW_MODE"):]
	line = line[:strings.Index(line, "\n")]
	for _, m := range rebalance.Modes() {
		if code != exitOK || !strings.Contains(line, string(m)) {
			t.Errorf("help's QW_MODE line %q does not name the mode %q", line, m)
		}
	}
}

func TestMissingRosterFileIsAConfigError(t *testing.T) {
	clearEnv(t)
	t.Setenv("QW_ROSTER_FILE", filepath.Join(t.TempDir(), "nope.json"))
	code, _, stderr := runMain(t, "plan")
	if code != exitUsage || !strings.Contains(stderr, "QW_ROSTER_FILE") {
		t.Errorf("exit code %d, stderr %q; want 2 naming QW_ROSTER_FILE", code, stderr)
	}
}

func TestFlagErrorsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"fake-helpscout", "--conversations", "-1"},
		{"fake-helpscout", "--webhook-url", "http://x"},
		{"demo", "--speed", "0"},
		{"demo", "--mode", "off"},
		{"demo", "--mode", "yolo"},
		{"plan", "--nope"},
		{"sync", "extra"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code, _, stderr := runMain(t, args...); code != exitUsage {
				t.Errorf("exit code %d, want %d; stderr %s", code, exitUsage, stderr)
			}
		})
	}
}

// TestParseAppliesTheBalancingKnobs: the values whose syntax is another
// package's reach the settings the daemon runs with.
func TestParseAppliesTheBalancingKnobs(t *testing.T) {
	clearEnv(t)
	t.Setenv("QW_ROUTING", "steer")
	t.Setenv("QW_BACKLOG", "oldest")
	t.Setenv("QW_OFF_SHIFT_HANDOVER", "all")
	t.Setenv("QW_MODE", "apply")
	s, err := loadConfig(t.Context(), 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if s.routing != balancer.RoutingSteer || s.mode != rebalance.ModeApply ||
		s.policy.Backlog != balancer.BacklogOldest || !s.policy.HandOverOngoing {
		t.Errorf("settings = routing %q, mode %q, backlog %v, handover ongoing %v", s.routing, s.mode, s.policy.Backlog, s.policy.HandOverOngoing)
	}
	if s.policy.StuckAfter != 4*time.Hour || s.policy.MaxMovesPerRun != 5 {
		t.Errorf("defaults not applied: stuck after %v, max moves %d", s.policy.StuckAfter, s.policy.MaxMovesPerRun)
	}
}

// TestRefusingCommandsNameUnknownVariables: sync, plan and backfill,
// refusing their configuration, name the unknown QW_ variables on stderr
// beside the problems, as serve and check do, each for itself ("sync
// ignores it"): a misspelt QW_MODE is the cause of the mode problem here,
// and without the hint the operator sees only "QW_MODE ... is not one of".
func TestRefusingCommandsNameUnknownVariables(t *testing.T) {
	for _, command := range []string{"sync", "plan", "backfill"} {
		t.Run(command, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("QW_MODE", "yolo")
			t.Setenv("QW_ROUTNG", "steer")
			code, _, stderr := runMain(t, command)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stderr %s", code, exitUsage, stderr)
			}
			want := "warning: QW_ROUTNG (did you mean QW_ROUTING?) is not a queuewrangler variable: " + command + " ignores it\n"
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
			if !strings.Contains(stderr, `QW_MODE: "yolo" is not one of off, propose, apply`) {
				t.Errorf("stderr lacks the problem itself:\n%s", stderr)
			}
			if strings.Count(stderr, "QW_ROUTNG") != 1 {
				t.Errorf("stderr names QW_ROUTNG more than once:\n%s", stderr)
			}
		})
	}
}

// TestSyncPlanAndBackfillNameTheDatabaseWithTheProblems: as serve and
// check do, sync, plan and backfill refusing their configuration list with
// its problems another program's file at QW_DB_PATH, which they would
// refuse next (exit code 2 both): every problem in one message.
func TestSyncPlanAndBackfillNameTheDatabaseWithTheProblems(t *testing.T) {
	foreign := filepath.Join(t.TempDir(), "crm.db")
	raw, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	for _, command := range []string{"sync", "plan", "backfill"} {
		t.Run(command, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("QW_MODE", "yolo")
			t.Setenv("QW_DB_PATH", foreign)
			code, _, stderr := runMain(t, command)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stderr %s", code, exitUsage, stderr)
			}
			for _, want := range []string{`- QW_MODE: "yolo" is not one of`, "- QW_DB_PATH: open store " + foreign + ": not a queuewrangler database"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}
