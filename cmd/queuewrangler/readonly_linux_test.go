package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestCheckRefusesAReadOnlyMount: QW_DB_PATH on a file system mounted
// read-only passed check with exit code 0, and serve then retried "read-only
// file system" for ever. check refuses it (exit code 2), listed with the
// other problems. A real mount: root writes past a directory's permissions,
// not past a read-only mount.
func TestCheckRefusesAReadOnlyMount(t *testing.T) {
	dir := testkit.MountTinyFS(t, "1m")
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only here: %v %s", err, out)
	}
	clearEnv(t)
	t.Setenv("QW_HELPSCOUT_CLIENT_ID", "id")
	t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "secret")
	t.Setenv("QW_DB_PATH", filepath.Join(dir, "qw.db"))
	want := "QW_DB_PATH: the directory " + dir + " is on a file system mounted read-only: serve would wait for it to be remounted read-write"
	code, stdout, stderr := runMain(t, "check")
	if code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("check: exit code %d, stdout:\n%s\nstderr:\n%s\nwant %d and %q", code, stdout, stderr, exitUsage, want)
	}
	t.Setenv("QW_MODE", "sometimes")
	code, _, stderr = runMain(t, "check")
	if code != exitUsage || !strings.Contains(stderr, want) || !strings.Contains(stderr, "QW_MODE") {
		t.Errorf("check with another problem: exit code %d, stderr:\n%s\nwant %d, %q and QW_MODE's", code, stderr, exitUsage, want)
	}
}
