package main

import (
	"database/sql"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"

	_ "modernc.org/sqlite"
)

// TestDiskFullTurnsReadyzAndRecovers fills the database's disk while the
// daemon runs: the next sync fails with a clear error, /readyz turns 503
// with the reason, the process keeps serving, and when space returns the
// next sync succeeds and /readyz is 200 again.
func TestDiskFullTurnsReadyzAndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system and runs the daemon")
	}
	dir := testkit.MountTinyFS(t, "4m")
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 5, Conversations: 50}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + startDaemon(t, ts.URL, io.Discard, map[string]string{
		"QW_DB_PATH": filepath.Join(dir, "qw.db"), "QW_POLL_INTERVAL": "1s", "QW_BALANCE_INTERVAL": "1h", "QW_MODE": "off",
	})
	readyz := func() (bool, string) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK, string(body)
	}

	filler := testkit.FillDisk(t, dir)
	// New work that the next poll must write, with threads, so it cannot
	// fit in what is left.
	owner := fake.Owner()
	for range 200 {
		c, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: fake.Mailboxes()[0].ID, CustomerID: fake.Customers()[0].ID,
			Subject: strings.Repeat("a long subject to take space ", 8), Body: strings.Repeat("x", 2000)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fake.AddAgentReply(c.ID, helpscouttest.ThreadInput{UserID: owner, Body: strings.Repeat("y", 2000)}); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitFor(t, time.Minute, "/readyz 503 naming the full disk", func() (bool, string) {
		ok, body := readyz()
		return !ok && strings.Contains(body, "cannot take writes"), body
	})
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the process stopped serving on a full disk: %v", err)
	} else {
		resp.Body.Close()
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 30*time.Second, "/readyz 200 once space returned", readyz)
}

// TestReadOnlyDiskAtStart starts the daemon with its database on a file
// system mounted read-only: it must not exit into a crash loop but answer
// /healthz 200 and /readyz 503 with the reason, and become ready once the
// disk is writable.
func TestReadOnlyDiskAtStart(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a file system and runs the daemon")
	}
	dir := testkit.MountTinyFS(t, "16m")
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot remount read-only here: %v %s", err, out)
	}
	writable := false
	defer func() {
		if !writable {
			exec.Command("mount", "-o", "remount,rw", dir).Run()
		}
	}()
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 6, Conversations: 50}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + startDaemonNoWait(t, ts.URL, io.Discard, map[string]string{
		"QW_DB_PATH": filepath.Join(dir, "qw.db"), "QW_MODE": "off",
	})
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	testkit.WaitFor(t, time.Minute, "/readyz 503 naming the database", func() (bool, string) {
		code, body := get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "database"), body
	})
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz = %d %s while the database cannot open; want 200 (no crash loop)", code, body)
	}
	if code, _ := get("/webhooks/helpscout"); code != http.StatusServiceUnavailable && code != http.StatusMethodNotAllowed {
		t.Errorf("other paths answer %d while starting, want 503", code)
	}
	if out, err := exec.Command("mount", "-o", "remount,rw", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-write: %v %s", err, out)
	}
	writable = true
	testkit.WaitFor(t, time.Minute, "/readyz 200 once the disk is writable", func() (bool, string) {
		code, body := get("/readyz")
		return code == http.StatusOK, body
	})
}

// TestNewerSchemaIsRefused opens a database written by a newer
// queuewrangler: the command refuses it with a message naming both schema
// versions instead of touching it, with exit code 2, as for another
// program's file: the image or QW_DB_PATH is to change.
func TestNewerSchemaIsRefused(t *testing.T) {
	clearEnv(t)
	path := filepath.Join(t.TempDir(), "qw.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 9999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	t.Setenv("QW_DB_PATH", path)
	code, _, stderr := runMain(t, "plan")
	if code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, "9999") || !strings.Contains(stderr, "newer") {
		t.Errorf("stderr %q does not explain the newer schema", stderr)
	}
}
