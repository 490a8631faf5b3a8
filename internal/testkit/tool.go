package testkit

import (
	"os"
	"os/exec"
	"testing"
)

// RequireTool returns the path of an outside program an end-to-end test
// drives (chromium, prometheus, promtool). Such tests run only with
// QW_E2E=1: without it the test skips, naming the Debian package to
// install; with it a missing program fails the test, so that a run meant to
// cover the browser or Prometheus cannot pass by skipping.
func RequireTool(tb testing.TB, name, debianPackage string) string {
	tb.Helper()
	if os.Getenv("QW_E2E") != "1" {
		tb.Skipf("set QW_E2E=1 to run against a real %s (Debian package %q)", name, debianPackage)
	}
	path, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s not found and QW_E2E=1: install the Debian package %q (apt-get install %s)", name, debianPackage, debianPackage)
	}
	return path
}
