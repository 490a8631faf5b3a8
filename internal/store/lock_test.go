package store

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func skipWithoutFlock(t *testing.T) {
	t.Helper()
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
	default:
		t.Skip("no flock on " + runtime.GOOS)
	}
}

// TestLockIsExclusive is issue 17 row 12 at the store: a second holder of
// one database is refused, told who holds it, and gets it once released.
func TestLockIsExclusive(t *testing.T) {
	skipWithoutFlock(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "qw.db")
	first, err := AcquireLock(path, "serve")
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(path, "serve")
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second AcquireLock: %v, want a *LockedError", err)
	}
	host, _ := os.Hostname()
	if le.Holder.PID != os.Getpid() || le.Holder.Host != host || le.Holder.Command != "serve" ||
		time.Since(le.Holder.Since) > time.Minute {
		t.Errorf("holder = %+v, want this process (pid %d on %s) running serve, since just now", le.Holder, os.Getpid(), host)
	}
	for _, want := range []string{"serve", "pid", host, path + ".lock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := AcquireLock(path, "sync")
	if err != nil {
		t.Fatalf("AcquireLock after Release: %v", err)
	}
	again.Release()
}

// TestOpenExclusiveHoldsTheLockUntilClose: the second writer is refused
// before it opens anything, and gets in once the first has closed.
func TestOpenExclusiveHoldsTheLockUntilClose(t *testing.T) {
	skipWithoutFlock(t)
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	first, err := OpenExclusive(ctx, path, "serve")
	if err != nil {
		t.Fatal(err)
	}
	second, err := OpenExclusive(ctx, path, "sync")
	if err == nil {
		second.Close()
		t.Fatal("a second OpenExclusive succeeded")
	}
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.Command != "serve" || !strings.Contains(err.Error(), path) {
		t.Errorf("second OpenExclusive: %v, want a *LockedError naming the file and the serving holder", err)
	}
	// Readers are not writers: plan may read beside the daemon.
	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Errorf("OpenReadOnly beside the holder: %v", err)
	} else {
		r.Close()
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := OpenExclusive(ctx, path, "sync")
	if err != nil {
		t.Fatalf("OpenExclusive after Close: %v", err)
	}
	again.Close()
}

// TestLockDiesWithItsProcess: a holder killed with SIGKILL leaves no stale
// lock, although the lock file stays.
func TestLockDiesWithItsProcess(t *testing.T) {
	skipWithoutFlock(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "qw.db")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "QW_TEST_LOCK_HOLDER="+path)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	_, err = AcquireLock(path, "serve")
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != child.Process.Pid {
		t.Fatalf("while the helper holds it: %v, want held by pid %d", err, child.Process.Pid)
	}
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	child.Wait()
	l, err := AcquireLock(path, "serve")
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	l.Release()
}

// holdLockAndWait is the helper process of TestLockDiesWithItsProcess.
func holdLockAndWait(path string) {
	if _, err := AcquireLock(path, "sync"); err != nil {
		os.Stdout.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
	os.Exit(0)
}

func TestMain(m *testing.M) {
	if path := os.Getenv("QW_TEST_LOCK_HOLDER"); path != "" {
		holdLockAndWait(path)
	}
	os.Exit(m.Run())
}

// A stopping daemon's quick close (no PRAGMA optimize) still lets the next
// holder open the file: its connections are closed and its lock released.
func TestCloseWithoutOptimizeReleasesTheFile(t *testing.T) {
	skipWithoutFlock(t)
	t.Parallel()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CloseWithoutOptimize(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open after CloseWithoutOptimize: %v", err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
}
