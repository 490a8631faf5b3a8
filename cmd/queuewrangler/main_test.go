package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
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
				if !strings.Contains(out, c.name) {
					t.Errorf("help lacks command %q", c.name)
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

// TestCommandHelpPointsToVariables: `serve -h` has no flags of its own; it
// says where its settings come from rather than printing an empty list.
func TestCommandHelpPointsToVariables(t *testing.T) {
	code, _, errOut := runMain(t, "serve", "-h")
	if code != exitOK || !strings.Contains(errOut, "Usage: queuewrangler serve\n") || strings.Contains(errOut, "[flags]") {
		t.Errorf("serve -h: code %d, output %q; want usage without [flags]", code, errOut)
	}
	for _, k := range config.Keys() {
		if !strings.Contains(errOut, k) {
			t.Errorf("serve -h does not list %s:\n%s", k, errOut)
		}
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
