package config

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnknownVariables(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    []string
	}{
		{"only known names", []string{"QW_MODE=apply", "QW_DB_PATH=/data/qw.db", "HOME=/root"}, nil},
		{"a typo gets a suggestion", []string{"QW_MODEE=apply"}, []string{"QW_MODEE (did you mean QW_MODE?)"}},
		{"a transposition", []string{"QW_ROTUING=own"}, []string{"QW_ROTUING (did you mean QW_ROUTING?)"}},
		{"letter case", []string{"qw_mode=apply"}, []string{"qw_mode (did you mean QW_MODE?)"}},
		{"nothing close", []string{"QW_FROBNICATE=1"}, []string{"QW_FROBNICATE"}},
		{"a short name is not forced onto a known one", []string{"QW_X=1"}, []string{"QW_X"}},
		{"other prefixes are not ours", []string{"QWERTY=1", "AWS_MODE=x", "QW=1"}, nil},
		{"several, in order", []string{"QW_STUCK_AFTR=2h", "QW_MODE=off", "QW_NEW_THING=1"},
			[]string{"QW_STUCK_AFTR (did you mean QW_STUCK_AFTER?)", "QW_NEW_THING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(UnknownVariables(tt.environ), tt.want); diff != "" {
				t.Errorf("UnknownVariables(%q) (-got +want):\n%s", tt.environ, diff)
			}
		})
	}
}

// One warning line names every unknown variable and never a value: a
// misspelt QW_HELPSCOUT_CLIENT_SECRET still holds the secret.
func TestWarnUnknownIsOneLineWithoutValues(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	warnUnknown(logger, []string{"QW_MODE=apply", "QW_MODEE=apply", "QW_HELPSCOUT_CLIENT_SECRT=hunter2-very-secret"})
	out := buf.String()
	if got := strings.Count(out, "\n"); got != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", got, out)
	}
	for _, want := range []string{"level=WARN", "component=config", "QW_MODEE (did you mean QW_MODE?)",
		"QW_HELPSCOUT_CLIENT_SECRT (did you mean QW_HELPSCOUT_CLIENT_SECRET?)"} {
		if !strings.Contains(out, want) {
			t.Errorf("warning lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("warning shows a value:\n%s", out)
	}

	buf.Reset()
	warnUnknown(logger, []string{"QW_MODE=apply", "PATH=/bin"})
	if buf.Len() != 0 {
		t.Errorf("warned with no unknown variable:\n%s", buf.String())
	}
}
