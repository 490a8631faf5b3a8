package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/config"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpListsCommandsAndVariables(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "help"} {
		t.Run(arg, func(t *testing.T) {
			code, out, _ := runMain(t, arg)
			if code != 0 {
				t.Fatalf("exit code %d, want 0", code)
			}
			for _, c := range commands() {
				if !strings.Contains(out, c.Name) {
					t.Errorf("help lacks command %q", c.Name)
				}
			}
			for _, k := range config.Keys() {
				if !strings.Contains(out, k) {
					t.Errorf("help lacks variable %s", k)
				}
			}
		})
	}
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	code, _, errOut := runMain(t, "frobnicate")
	if code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	if !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := runMain(t, "version")
	if code != 0 || !strings.Contains(out, "queuewrangler dev") || !strings.Contains(out, "go1.") {
		t.Errorf("version: code %d, output %q", code, out)
	}
	if code, _, _ := runMain(t, "version", "--bogus"); code != exitUsage {
		t.Errorf("version --bogus exit code %d, want %d", code, exitUsage)
	}
}

// TestEveryCommandSaysWhatItDoes: `queuewrangler CMD -h` opens with what
// the command does, then how to call it and its flags, and for a command
// that reads QW_ variables where they are listed; on stdout with exit code
// 0, as `queuewrangler -h`. serve has no flags of its own: its usage says
// so rather than printing an empty list.
func TestEveryCommandSaysWhatItDoes(t *testing.T) {
	readsEnv := []string{"serve", "check", "sync", "plan", "backfill", "healthcheck"}
	flags := map[string][]string{"demo": {"-speed", "-seed", "-addr", "-db"}, "plan": {"-json"}, "backfill": {"-since"},
		"fake-helpscout": {"-conversations", "-rate-limit", "-webhook-url"}, "simulate": {"-scenario", "-policies", "-json"},
		"healthcheck": {"-addr", "-timeout"}}
	// design.md's words for what each command does.
	does := map[string]string{"serve": "run the daemon: poll and webhooks, the balancer, the queue page and API, metrics",
		"demo": "a simulated Help Scout account", "sync": "one full or incremental sync", "plan": "changes nothing in Help Scout",
		"fake-helpscout": "serve a simulated Help Scout account alone", "simulate": "under several policies",
		"version": "version, commit and Go version", "check": "exactly as serve does, and who wrote QW_DB_PATH without creating or changing it, without calling Help Scout"}
	for _, c := range commands() {
		if c.Run == nil {
			continue // help
		}
		t.Run(c.Name, func(t *testing.T) {
			code, out, errOut := runMain(t, c.Name, "-h")
			if code != exitOK || errOut != "" {
				t.Fatalf("exit code %d, stderr %q; want 0 and the help on stdout", code, errOut)
			}
			if opening := "queuewrangler " + c.Name + ": "; !strings.HasPrefix(out, opening) {
				t.Errorf("-h opens with %q, want %q and what the command does", out[:min(len(out), 60)], opening)
			}
			about, usage, _ := strings.Cut(out, "\n\nUsage: ")
			if want := does[c.Name]; !strings.Contains(strings.Join(strings.Fields(about), " "), want) {
				t.Errorf("-h opens with %q, which does not say %q", about, want)
			}
			for _, f := range flags[c.Name] {
				if !strings.Contains(usage, "  "+f+" ") && !strings.Contains(usage, "  "+f+"\n") { // a bool flag ends its line
					t.Errorf("-h does not list the flag %s:\n%s", f, out)
				}
			}
			if len(flags[c.Name]) == 0 && c.Name != "demo" && !strings.HasPrefix(usage, "queuewrangler "+c.Name+"\n") {
				t.Errorf("usage %q names flags the command does not take", usage)
			}
			pointer := "`queuewrangler -h` lists every one with its default"
			if got, want := strings.Contains(out, pointer), slices.Contains(readsEnv, c.Name); got != want {
				t.Errorf("-h points to the variables: %v, want %v:\n%s", got, want, out)
			}
		})
	}
	code, out, errOut := runMain(t, "plan", "--nope")
	if code != exitUsage || out != "" || !strings.Contains(errOut, "Usage: queuewrangler plan [flags]") {
		t.Errorf("plan --nope: code %d, stdout %q, stderr %q; want 2 and the usage on stderr", code, out, errOut)
	}
	code, _, errOut = runMain(t, "simulate", "extra")
	if code != exitUsage || strings.Count(errOut, "queuewrangler") != 1 {
		t.Errorf("simulate extra: code %d, %q; want exit 2 and the program named once", code, errOut)
	}
}

// TestPlanWithoutMirror: `plan` on a path with no database says to sync
// first, and creates no empty database that would report "0 moves".
func TestPlanWithoutMirror(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.db")
	t.Setenv("QW_DB_PATH", path)
	code, out, errOut := runMain(t, "plan")
	if code != exitFailure || !strings.Contains(errOut, "no mirror at") {
		t.Errorf("plan without a mirror: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plan created %s (stat: %v)", path, err)
	}
}

// TestHelpSaysWhatItIsFor: -h and README.md open with the same sentence,
// and it puts the customers first (design.md: fairness of load is the
// tie-breaker, never a reason to move a customer); the serve line names the
// balancer and the page, which serve runs, and QW_MODE says what each
// mode does rather than only naming them.
func TestHelpSaysWhatItIsFor(t *testing.T) {
	_, out, _ := runMain(t, "-h")
	first, _, _ := strings.Cut(out, "\n")
	if !strings.Contains(first, "customers answered sooner") {
		t.Errorf("help opens with %q, which does not say what the moves are for", first)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, intro, _ := strings.Cut(string(readme), "\n\n")
	if !strings.HasPrefix(intro, first) {
		t.Errorf("README.md opens with %q, help with %q", intro[:min(len(intro), len(first))], first)
	}
	for _, want := range []string{
		"serve           run the daemon: poll and webhooks, the balancer, the queue page and API",
		"off (nothing is planned or moved), propose (each move waits for an SST's approval on the queue page) or apply (moves are made, within the caps)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
