package main

import (
	"bytes"
	"context"
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
