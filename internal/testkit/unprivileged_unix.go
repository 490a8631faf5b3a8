//go:build unix

package testkit

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// unprivilegedEnv hands the directory of AsUnprivileged to the copy of
// the test that runs as another user.
const unprivilegedEnv = "QW_TEST_UNPRIVILEGED_DIR"

// AsUnprivileged prepares a permission test: a fresh directory any user
// may enter, filled by setup, and whether this process should run the
// test's checks. Root may write anywhere, so a permission check run as
// root meets no refusal: as root, AsUnprivileged runs the calling test
// again in a copy of the test binary as uid and gid 65534 (nobody), fails
// the test if the copy fails, and returns run false. The copy gets the
// same directory, setup not run again, and run true; so does a process
// that is not root.
func AsUnprivileged(t *testing.T, setup func(dir string)) (dir string, run bool) {
	t.Helper()
	if dir := os.Getenv(unprivilegedEnv); dir != "" {
		return dir, true
	}
	dir, err := os.MkdirTemp("", "qw-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Give the owner back what setup took away, so that removal works.
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(path, 0o755)
			}
			return nil
		})
		_ = os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	setup(dir)
	if os.Geteuid() != 0 {
		return dir, true
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, filepath.Base(self)) // the build directory is private to root
	copyExecutable(t, self, bin)
	cmd := exec.Command(bin, "-test.run", "^"+t.Name()+"$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), unprivilegedEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot run as another user here: %v", err)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Errorf("as uid 65534: %v\n%s", err, out)
	}
	return dir, false
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
