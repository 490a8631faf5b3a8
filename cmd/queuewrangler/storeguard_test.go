package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// mainWithin runs a command like runMain, but gives up after limit: a
// daemon that should have refused to start would otherwise run for ever.
func mainWithin(t *testing.T, limit time.Duration, args ...string) (code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out, errb bytes.Buffer
	code = Main(ctx, args, &out, &errb)
	if ctx.Err() != nil {
		t.Errorf("%s was still running after %s (exit %d); stderr:\n%s", args[0], limit, code, errb.String())
	}
	return code, errb.String()
}

// TestOneDaemonPerDatabase is issue 17 row 12: a second `serve` on the
// database of a running one started and ran, and both planned and applied.
// Now it exits at once, naming the holder; `sync` is refused the same way
// (it would write beside the daemon); `plan`, which only reads, runs.
func TestOneDaemonPerDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 6, Conversations: 40}); err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "qw.db")
	addr := startDaemon(t, ts.URL, io.Discard, map[string]string{"QW_DB_PATH": dbPath, "QW_MODE": "off"})
	host, _ := os.Hostname()

	for _, command := range []string{"serve", "sync"} {
		code, stderr := mainWithin(t, 30*time.Second, command)
		if code != exitFailure {
			t.Errorf("second %s: exit code %d, want %d; stderr:\n%s", command, code, exitFailure, stderr)
		}
		for _, want := range []string{"queuewrangler serve", fmt.Sprintf("pid %d", os.Getpid()), host, "since", dbPath + ".lock"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("second %s: stderr does not name %q:\n%s", command, want, stderr)
			}
		}
	}
	if code, stderr := mainWithin(t, 30*time.Second, "plan"); code != exitOK {
		t.Errorf("plan beside the daemon: exit %d, want 0; stderr:\n%s", code, stderr)
	}
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the first daemon answers /readyz %d after the refusals, want 200", resp.StatusCode)
	}
}

// TestForeignDatabaseIsRefusedByEveryCommand is issue 17 rows 10 and 11 at
// the command line: QW_DB_PATH pointing at another application's SQLite
// file. serve used to migrate it (row 10) and now exits with code 2 at
// once instead of retrying for ever, as do sync and plan, and the file
// keeps every byte.
func TestForeignDatabaseIsRefusedByEveryCommand(t *testing.T) {
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 6, Conversations: 10}); err != nil {
		t.Fatal(err)
	}
	for _, version := range []int{0, 7} {
		t.Run(fmt.Sprintf("user_version %d", version), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crm.db")
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)",
				"INSERT INTO contacts (name) VALUES ('Ada')", fmt.Sprintf("PRAGMA user_version = %d", version)} {
				if _, err := raw.Exec(s); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			before := fileSum(t, path)
			setStoreEnv(t, ts.URL, path)
			for _, command := range []string{"serve", "sync", "plan"} {
				code, stderr := mainWithin(t, 30*time.Second, command)
				if code != exitUsage {
					t.Errorf("%s: exit code %d, want %d; stderr:\n%s", command, code, exitUsage, stderr)
				}
				for _, want := range []string{path, "not a queuewrangler database", "contacts"} {
					if !strings.Contains(stderr, want) {
						t.Errorf("%s: stderr does not say %q:\n%s", command, want, stderr)
					}
				}
			}
			if fileSum(t, path) != before {
				t.Error("the foreign file changed")
			}
			if _, err := os.Stat(path + "-wal"); err == nil {
				t.Error("a -wal file appeared beside the foreign file: its journal mode was switched")
			}
		})
	}
}

// TestDamagedDatabaseEndsTheDaemon is ops finding 2: serve on a damaged
// file retried for ever, backing off to 30 s, /readyz "cannot be opened".
// Nothing repairs it by waiting: serve and sync exit 1 at once with one
// line that says what to do, and the file is left as it was.
func TestDamagedDatabaseEndsTheDaemon(t *testing.T) {
	_, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	for name, damage := range map[string]func(b []byte) []byte{
		"overwritten past the header": func(b []byte) []byte { copy(b[12288:], bytes.Repeat([]byte{0xff}, 48)); return b },
		"truncated":                   func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "qw.db")
			db, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			var mbs []store.Mailbox
			for i := range 300 {
				mbs = append(mbs, store.Mailbox{ID: int64(i + 1), Name: strings.Repeat("m", 200)})
			}
			if err := db.ReplaceMailboxes(context.Background(), mbs); err != nil {
				t.Fatal(err)
			}
			db.Close()
			b, err := os.ReadFile(path)
			if err != nil || len(b) < 12288+48 {
				t.Fatalf("read %d bytes: %v", len(b), err)
			}
			if err := os.WriteFile(path, damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			before := fileSum(t, path)
			setStoreEnv(t, ts.URL, path)
			for _, command := range []string{"serve", "sync"} {
				code, stderr := mainWithin(t, 30*time.Second, command)
				if code != exitFailure {
					t.Errorf("%s: exit code %d, want %d; stderr:\n%s", command, code, exitFailure, stderr)
				}
				if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
					t.Errorf("%s: %d lines on stderr, want one:\n%s", command, n+1, stderr)
				}
				for _, want := range []string{path, "damaged", "restore it from a backup", "move the file aside"} {
					if !strings.Contains(stderr, want) {
						t.Errorf("%s: stderr does not say %q:\n%s", command, want, stderr)
					}
				}
			}
			if fileSum(t, path) != before {
				t.Error("the damaged file changed")
			}
		})
	}
}

// setStoreEnv sets the environment of a command run against the fake at
// apiURL on the database at path, with nothing optional configured.
func setStoreEnv(t *testing.T, apiURL, path string) {
	t.Helper()
	for k, v := range map[string]string{
		"QW_HELPSCOUT_CLIENT_ID": "demo", "QW_HELPSCOUT_CLIENT_SECRET": "demo-secret", "QW_HELPSCOUT_API_URL": apiURL,
		"QW_DB_PATH": path, "QW_LISTEN_ADDR": "127.0.0.1:0", "QW_MODE": "off", "QW_LOG_LEVEL": "error",
		"QW_HELPSCOUT_WEBHOOK_SECRET": "", "QW_ADMIN_TOKEN": "", "QW_ROSTER_FILE": "", "QW_MAILBOXES": "",
	} {
		t.Setenv(k, v)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestDamagedFileIsSaidOnceByScrapesAndViews: a file damaged under the
// running daemon failed every scrape with a WARN and every view of the
// page with an ERROR per section. Each still fails as before (the error
// counter, the page's notes), but the damage is said once, with the
// remedy, at ERROR (the scrape, first to meet it, said it at WARN),
// between them and the loops.
func TestDamagedFileIsSaidOnceByScrapesAndViews(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon against the fake Help Scout")
	}
	_, _, apiURL := promFake(t)
	path := filepath.Join(t.TempDir(), "qw.db")
	var logs testkit.LogBuffer
	// One poll, at start: the scrapes and the views are the ones to meet
	// the damage.
	addr := startDaemon(t, apiURL, &logs, map[string]string{"QW_DB_PATH": path, "QW_POLL_INTERVAL": "1h", "QW_MODE": "off"})

	edit, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer edit.Close()
	var pgno int64
	var good []byte
	if err := edit.QueryRow("SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = 'conversations'").Scan(&pgno); err != nil {
		t.Fatal(err)
	}
	if err := edit.QueryRow("SELECT data FROM sqlite_dbpage WHERE pgno = ?", pgno).Scan(&good); err != nil {
		t.Fatal(err)
	}
	if _, err := edit.Exec("UPDATE sqlite_dbpage SET data = ? WHERE pgno = ?", bytes.Repeat([]byte{0xff}, len(good)), pgno); err != nil {
		t.Fatal(err)
	}

	const scrapes = 5
	for i := range scrapes {
		if want := fmt.Sprintf("queuewrangler_collector_scrape_errors_total %d\n", i+1); !strings.Contains(scrapeMetrics(t, addr), want) {
			t.Errorf("scrape %d does not count its failure (%q)", i+1, want)
		}
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "Could not read the team; the daemon log has the detail.") {
			t.Errorf("view %d does not say the team could not be read", i+1)
		}
	}
	log := logs.String()
	if n := strings.Count(log, "restore it from a backup"); n != 1 {
		t.Errorf("the damage is said %d times over %d scrapes and views, want once:\n%s", n, scrapes, log)
	}
	for _, l := range strings.Split(log, "\n") {
		// The scrape meets it first; it said it at WARN.
		if strings.Contains(l, "restore it from a backup") && !strings.Contains(l, "level=ERROR") {
			t.Errorf("the damage is said below ERROR: %s", l)
		}
	}
	if n := strings.Count(log, `msg="metrics collector"`) + strings.Count(log, `msg="page: read`); n > 1 {
		t.Errorf("%d lines from the scrapes and the views, want at most the one that said the damage:\n%s", n, log)
	}
}
