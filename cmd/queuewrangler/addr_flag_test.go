package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBadAddrIsAUsageError: `fake-helpscout --addr nonsense` and `demo
// --addr nonsense` failed at listen with exit code 1, where every other bad
// flag is a usage error (exit code 2) said before anything starts. A bad
// --addr is one too, listed with the other flags' problems.
func TestBadAddrIsAUsageError(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"fake-helpscout", []string{"fake-helpscout", "--addr", "nonsense"},
			[]string{`fake-helpscout: --addr: "nonsense" is not host:port (e.g. :8080 or 127.0.0.1:8080)`}},
		{"fake-helpscout, a port out of range", []string{"fake-helpscout", "--addr", "127.0.0.1:70000"},
			[]string{`--addr: "127.0.0.1:70000": the port must be a number from 0 to 65535`}},
		{"fake-helpscout, with another problem", []string{"fake-helpscout", "--addr", "nonsense", "--rate-limit", "-1"},
			[]string{`  - --addr: "nonsense" is not host:port`, "  - --rate-limit must not be negative"}},
		{"demo", []string{"demo", "--addr", "nonsense"},
			[]string{`demo: --addr: "nonsense" is not host:port (e.g. :8080 or 127.0.0.1:8080)`}},
		{"demo, with two other problems", []string{"demo", "--addr", "nonsense", "--mode", "maybe", "--speed", "0"},
			[]string{`  - --addr: "nonsense" is not host:port`, "\n  - --mode must be apply or propose, got \"maybe\"", "\n  - --speed must be above 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bound is for a command that starts anyway, which runs until stopped.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stdout, stderr strings.Builder
			args := tt.args
			if tt.args[0] == "demo" {
				args = append(args, "--db", t.TempDir()+"/demo.db")
			}
			if code := Main(ctx, args, &stdout, &stderr); code != exitUsage {
				t.Errorf("%s: exit code %d, want %d; stderr:\n%s", strings.Join(tt.args, " "), code, exitUsage, stderr.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("%s: stderr does not say %q:\n%s", strings.Join(tt.args, " "), want, stderr.String())
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("%s printed, though it refused its flags:\n%s", strings.Join(tt.args, " "), stdout.String())
			}
		})
	}
}
