package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestCheckAgreesWithServe runs each configuration through check and
// through serve itself, started against the fake Help Scout and stopped
// once it says it is serving: the exit codes agree, and where serve refuses
// to start, check says the same words, the warnings of an unknown variable
// too. check's warnings go to stderr beside the problems, where serve's
// go, and not to stdout, which `check >/dev/null` hides.
func TestCheckAgreesWithServe(t *testing.T) {
	_, fake := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	dir := t.TempDir()
	roster := func(name, doc string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := roster("good.json", `{"defaults": {"level": 2}, "agents": [{"email": "sam@example.com", "role": "sst", "hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Berlin"}]}`)
	// Database files serve refuses; each in a directory of its own, where
	// serve's lock file goes.
	database := func(path string, stmts ...string) string {
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, s := range stmts {
			if _, err := raw.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		return path
	}
	ours := func(stmts ...string) string {
		path := filepath.Join(t.TempDir(), "qw.db")
		testkit.OpenStoreAt(t, path).Close()
		return database(path, stmts...)
	}
	notSQLite := filepath.Join(t.TempDir(), "notes.db")
	if err := os.WriteFile(notSQLite, []byte("shopping list: milk, eggs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want int
		warn string // in check's stderr
	}{
		{"the defaults", nil, exitOK, ""},
		{"a valid roster", map[string]string{"QW_ROSTER_FILE": good}, exitOK, ""},
		{"an unknown variable beside valid ones", map[string]string{"QW_MODEE": "apply"}, exitOK,
			"warning: QW_MODEE (did you mean QW_MODE?) is not a queuewrangler variable: serve ignores it"},
		{"a misspelt variable that leaves a problem", map[string]string{"QW_HELPSCOUT_CLIENT_ID": "", "QW_HELPSCOUT_CLIENT_IDD": "id"}, exitUsage,
			"warning: QW_HELPSCOUT_CLIENT_IDD (did you mean QW_HELPSCOUT_CLIENT_ID?) is not a queuewrangler variable: serve ignores it"},
		{"apply, steer, office hours", map[string]string{"QW_MODE": "apply", "QW_ROUTING": "steer", "QW_OFFICE_HOURS": "Mon-Fri 09:00-17:00 UTC"}, exitOK, ""},
		{"no credentials", map[string]string{"QW_HELPSCOUT_CLIENT_ID": "", "QW_HELPSCOUT_CLIENT_SECRET": ""}, exitUsage, ""},
		{"a roster level out of range", map[string]string{"QW_ROSTER_FILE": roster("level.json", `{"agents": [{"email": "a@x.io", "level": 9}]}`)}, exitUsage, ""},
		{"a roster shift that does not parse", map[string]string{"QW_ROSTER_FILE": roster("hours.json", `{"agents": [{"id": 4, "hours": "weekdays"}]}`)}, exitUsage, ""},
		{"a roster cut off", map[string]string{"QW_ROSTER_FILE": roster("cut.json", `{"agents": [{"id": 4}`)}, exitUsage, ""},
		{"a roster file missing", map[string]string{"QW_ROSTER_FILE": filepath.Join(dir, "absent.json")}, exitUsage, ""},
		{"a roster path that is a directory", map[string]string{"QW_ROSTER_FILE": t.TempDir()}, exitUsage, ""},
		{"a mode, a routing and office hours that do not parse", map[string]string{"QW_MODE": "yolo", "QW_ROUTING": "balanced", "QW_OFFICE_HOURS": "always"}, exitUsage, ""},
		{"the database's directory missing", map[string]string{"QW_DB_PATH": filepath.Join(dir, "nowhere", "qw.db")}, exitUsage, ""},
		// serve's Help Scout client refuses them, after opening the
		// database and with exit code 1, while check passed them.
		{"an API URL with a password and a query", map[string]string{
			"QW_HELPSCOUT_API_URL": strings.Replace(fake.URL, "://", "://me:hunter2@", 1) + "/?region=eu"}, exitUsage, ""},
		{"a short admin token and a long webhook secret", map[string]string{"QW_ADMIN_TOKEN": "short", "QW_HELPSCOUT_WEBHOOK_SECRET": strings.Repeat("s", 41)}, exitUsage, ""},
		{"this binary's database", map[string]string{"QW_DB_PATH": ours()}, exitOK, ""},
		{"another program's database", map[string]string{"QW_DB_PATH": database(filepath.Join(t.TempDir(), "crm.db"),
			"CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO contacts (name) VALUES ('Ada')")}, exitUsage, ""},
		{"a database file that is not SQLite", map[string]string{"QW_DB_PATH": notSQLite}, exitUsage, ""},
		{"a newer queuewrangler's database", map[string]string{"QW_DB_PATH": ours(fmt.Sprintf("PRAGMA user_version = %d", store.LatestSchemaVersion()+1))}, exitUsage, ""},
		// Ours, from a build whose migration 5 differs: no start can use
		// it, and both say so with exit code 1, as for a damaged file.
		{"a different build's database", map[string]string{"QW_DB_PATH": ours("UPDATE schema_version SET name = '0005_other.sql' WHERE version = 5")}, exitFailure, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			setEnv(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "id", "QW_HELPSCOUT_CLIENT_SECRET": "secret",
				"QW_HELPSCOUT_API_URL": fake.URL, "QW_DB_PATH": filepath.Join(t.TempDir(), "qw.db"),
				"QW_LISTEN_ADDR": "127.0.0.1:0", "QW_LOG_FORMAT": "text"})
			setEnv(t, tt.env)
			checkCode, checkOut, checkErr := runMain(t, "check")
			serveCode, serveErr := serveVerdict(t)
			if checkCode != serveCode || checkCode != tt.want {
				t.Fatalf("check exits %d, serve %d; want %d for both\ncheck: %s\nserve: %s", checkCode, serveCode, tt.want, checkErr, serveErr)
			}
			// The suggested admin token is fresh each time.
			token := regexp.MustCompile(`such as [A-Z2-7]{26}\b`)
			checkErr, serveErr = token.ReplaceAllString(checkErr, "such as TOKEN"), token.ReplaceAllString(serveErr, "such as TOKEN")
			if strings.Contains(checkOut+checkErr+serveErr, "hunter2") {
				t.Errorf("a password in QW_HELPSCOUT_API_URL is shown:\ncheck: %s%s\nserve: %s", checkOut, checkErr, serveErr)
			}
			if tt.warn != "" && !strings.Contains(checkErr, tt.warn) {
				t.Errorf("check's stderr lacks %q:\n%s", tt.warn, checkErr)
			}
			if tt.warn == "" && strings.Contains(checkErr, "warning:") {
				t.Errorf("check warns of a variable the test did not set:\n%s", checkErr)
			}
			if strings.Contains(checkOut, "warning:") {
				t.Errorf("check warns on stdout:\n%s", checkOut)
			}
			// serve refusing to start says the unknown variables with the
			// problems, as check does: the misspelt name is often the
			// problem's cause. A database serve cannot use is refused in
			// the same words by both.
			if checkCode != exitOK && checkErr != serveErr {
				t.Errorf("check and serve say different things:\ncheck: %s\nserve: %s", checkErr, serveErr)
			}
			if checkCode == exitUsage && tt.warn != "" && !strings.Contains(serveErr, tt.warn) {
				t.Errorf("serve's stderr lacks %q:\n%s", tt.warn, serveErr)
			}
		})
	}
}

func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// TestRefusedConfigurationNamesTheDatabaseToo: serve, and check before it,
// refusing the configuration name with its problems what they would refuse
// QW_DB_PATH over once those are fixed (another program's file, a newer
// queuewrangler's): one message with every problem, among the variables'
// and before the roster file's. They named the variable only, and the file
// at the next try. A different build's file is not a configuration
// problem (exit code 1 at the start) and is not listed.
func TestRefusedConfigurationNamesTheDatabaseToo(t *testing.T) {
	foreign := filepath.Join(t.TempDir(), "crm.db")
	raw, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	ours := func(stmt string) string {
		path := filepath.Join(t.TempDir(), "qw.db")
		testkit.OpenStoreAt(t, path).Close()
		raw, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
		return path
	}
	roster := filepath.Join(t.TempDir(), "roster.json")
	if err := os.WriteFile(roster, []byte(`{"agents": [{"email": "sam@example.com", "level": 9}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"another program's", foreign, "QW_DB_PATH: open store " + foreign + ": not a queuewrangler database"},
		{"a newer queuewrangler's", ours(fmt.Sprintf("PRAGMA user_version = %d", store.LatestSchemaVersion()+1)),
			// Once each (it said "run a newer queuewrangler" twice, and "open" twice).
			fmt.Sprintf("QW_DB_PATH: open store %%s: database schema is newer than this binary: the file is at schema version %d, this binary knows up to %d: "+
				"run a queuewrangler at least as new as the one that migrated it, or restore the copy of the file taken before that upgrade "+
				"(moving the file aside instead starts afresh", store.LatestSchemaVersion()+1, store.LatestSchemaVersion())},
		{"a different build's", ours("UPDATE schema_version SET name = '0005_other.sql' WHERE version = 5"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			setEnv(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "id", "QW_HELPSCOUT_CLIENT_SECRET": "secret",
				"QW_LISTEN_ADDR": "127.0.0.1:0", "QW_MODE": "yolo", "QW_ROSTER_FILE": roster, "QW_DB_PATH": tt.path})
			checkCode, _, checkErr := runMain(t, "check")
			serveCode, serveErr := serveVerdict(t)
			if checkCode != exitUsage || serveCode != exitUsage {
				t.Fatalf("check exits %d, serve %d; want %d\ncheck: %s\nserve: %s", checkCode, serveCode, exitUsage, checkErr, serveErr)
			}
			if checkErr != serveErr {
				t.Errorf("check and serve say different things:\ncheck: %s\nserve: %s", checkErr, serveErr)
			}
			mode, db, file := strings.Index(checkErr, "- QW_MODE"), strings.Index(checkErr, "- QW_DB_PATH"), strings.Index(checkErr, "- QW_ROSTER_FILE")
			if mode < 0 || file < 0 {
				t.Fatalf("the other problems are missing:\n%s", checkErr)
			}
			switch {
			case tt.want == "" && db >= 0:
				t.Errorf("a file no configuration change fixes is listed as a configuration problem:\n%s", checkErr)
			case tt.want != "" && (db < 0 || !strings.Contains(checkErr[db:], strings.ReplaceAll(tt.want, "%s", tt.path))):
				t.Errorf("stderr lacks the database's problem %q:\n%s", tt.want, checkErr)
			case tt.want != "" && (db < mode || db > file):
				t.Errorf("the database's problem is not among the variables', before the roster file's:\n%s", checkErr)
			}
		})
	}
}

// serveVerdict runs serve until it says it is serving, then stops it; it
// returns serve's exit code and what it wrote to stderr.
func serveVerdict(t *testing.T) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr testkit.LogBuffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"serve"}, new(strings.Builder), &stderr) }()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case code := <-done:
			return code, stderr.String()
		case <-deadline:
			t.Fatalf("serve neither started nor stopped within 30s:\n%s", stderr.String())
		case <-time.After(10 * time.Millisecond):
			if strings.Contains(stderr.String(), `msg="queuewrangler serving"`) {
				cancel()
				return <-done, stderr.String()
			}
		}
	}
}

// TestCheckTouchesNeitherDatabaseNorHelpScout: check beside a running
// daemon, or before the first start, creates no database, sends Help Scout
// nothing, and shows what it read without a secret on stdout, and the
// misspelt variable serve would ignore on stderr.
func TestCheckTouchesNeitherDatabaseNorHelpScout(t *testing.T) {
	helpScout := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("check called Help Scout: %s %s", r.Method, r.URL)
	}))
	defer helpScout.Close()
	roster := filepath.Join(t.TempDir(), "roster.json")
	if err := os.WriteFile(roster, []byte(`{"agents": [{"id": 256, "role": "sst", "hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Berlin"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "qw.db")
	secrets := []string{"app-secret-value", "webhook-secret-value", "admin-token-value-long-enough", "https://hooks.slack.com/services/T0/B0/xyz"}
	clearEnv(t)
	setEnv(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "app-id", "QW_HELPSCOUT_CLIENT_SECRET": secrets[0],
		"QW_HELPSCOUT_WEBHOOK_SECRET": secrets[1], "QW_ADMIN_TOKEN": secrets[2], "QW_SLACK_WEBHOOK_URL": secrets[3],
		"QW_HELPSCOUT_API_URL": helpScout.URL, "QW_DB_PATH": db, "QW_ROSTER_FILE": roster,
		"QW_MODE": "apply", "QW_ROUTING": "steer", "QW_MAILBOXES": "12,34", "QW_ROUTNG": "own"})
	code, out, errOut := runMain(t, "check")
	if code != exitOK {
		t.Fatalf("check exits %d, want 0; stderr %s", code, errOut)
	}
	if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("check left something at QW_DB_PATH (stat: %v)", err)
	}
	for _, s := range secrets {
		if strings.Contains(out+errOut, s) {
			t.Errorf("check printed the secret %q:\n%s", s, out)
		}
	}
	for _, want := range []string{"QW_MODE                          apply", "QW_ROUTING                       steer",
		"QW_MAILBOXES                     12,34", "QW_ADMIN_TOKEN                   set (hidden)",
		"1 listed: 1 sst", "agents[0] (id 256)  sst, level 2, capacity 1, on shift Mon-Fri 09:00-17:00 (Europe/Berlin)",
		"none yet: serve creates it at start", "serve would start with these"} {
		if !strings.Contains(out, want) {
			t.Errorf("check's output lacks %q:\n%s", want, out)
		}
	}
	const warn = "warning: QW_ROUTNG (did you mean QW_ROUTING?) is not a queuewrangler variable: serve ignores it"
	if !strings.Contains(errOut, warn) || strings.Contains(out, "warning:") {
		t.Errorf("check's warning %q is not on stderr alone\nstdout: %s\nstderr: %s", warn, out, errOut)
	}
}

// TestCheckReadsTheDatabaseWithoutChangingIt: check says who wrote an
// existing QW_DB_PATH and which schema version it holds, and leaves every
// byte as it was: the file, and no -wal, -shm or lock file left beside it.
func TestCheckReadsTheDatabaseWithoutChangingIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "qw.db")
	testkit.OpenStoreAt(t, path).Close()
	before := dirFiles(t, filepath.Dir(path))
	clearEnv(t)
	setEnv(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "id", "QW_HELPSCOUT_CLIENT_SECRET": "secret", "QW_DB_PATH": path})
	code, out, errOut := runMain(t, "check")
	if code != exitOK {
		t.Fatalf("check exits %d, want 0; stderr %s", code, errOut)
	}
	if want := fmt.Sprintf("Database (%s):\n  queuewrangler's, schema version %d (this binary's)", path, store.LatestSchemaVersion()); !strings.Contains(out, want) {
		t.Errorf("check's output lacks %q:\n%s", want, out)
	}
	if after := dirFiles(t, filepath.Dir(path)); !maps.Equal(after, before) {
		t.Errorf("check changed the database's directory: %v before, %v after", before, after)
	}
}

// TestCheckSaysWhatItFoundAtQWDBPath: check's Database line names what
// serve will find there. An SQLite file without a table (created empty by
// some other tool, or by sqlite3 by hand) was called "queuewrangler's,
// schema version 0", which it is not: serve takes it as a new database.
func TestCheckSaysWhatItFoundAtQWDBPath(t *testing.T) {
	noTables := filepath.Join(t.TempDir(), "empty.db")
	raw, err := sql.Open("sqlite", noTables)
	if err != nil {
		t.Fatal(err)
	}
	// A table created and dropped leaves a valid SQLite file with none.
	for _, s := range []string{"CREATE TABLE t (x)", "DROP TABLE t"} {
		if _, err := raw.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	ours := filepath.Join(t.TempDir(), "qw.db")
	testkit.OpenStoreAt(t, ours).Close()
	for _, tt := range []struct{ name, path, want string }{
		{"no file", filepath.Join(t.TempDir(), "qw.db"), "none yet: serve creates it at start"},
		{"an SQLite file without tables", noTables, "an SQLite file with no tables yet: serve makes it queuewrangler's at start"},
		{"this binary's", ours, fmt.Sprintf("queuewrangler's, schema version %d (this binary's)", store.LatestSchemaVersion())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			setEnv(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "id", "QW_HELPSCOUT_CLIENT_SECRET": "secret", "QW_DB_PATH": tt.path})
			code, out, errOut := runMain(t, "check")
			if code != exitOK {
				t.Fatalf("check exits %d, want 0; stderr %s", code, errOut)
			}
			if want := fmt.Sprintf("Database (%s):\n  %s", tt.path, tt.want); !strings.Contains(out, want) {
				t.Errorf("check's output lacks %q:\n%s", want, out)
			}
			if strings.Contains(out, "schema version 0") {
				t.Errorf("check calls a file without tables queuewrangler's:\n%s", out)
			}
		})
	}
}

// dirFiles maps each file in dir to the sha256 of its content.
func dirFiles(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][32]byte{}
	for _, e := range ents {
		out[e.Name()] = fileSum(t, filepath.Join(dir, e.Name()))
	}
	return out
}

// TestREADMECheckRunsAsTheDaemon: the README's check before a restart
// gives the new container what step 2's docker run gives the daemon (its
// variables, its env file, its volume and roster mount), so that it reads
// what the restarted daemon will read.
func TestREADMECheckRunsAsTheDaemon(t *testing.T) {
	readme, _, daemon := readmeDockerRun(t)
	at := strings.Index(readme, "docker run --rm -v")
	if at < 0 {
		t.Fatal("the README has no docker run of check")
	}
	check := readme[at:]
	check = check[:strings.Index(check, "```")]
	if !strings.HasSuffix(strings.TrimSpace(check), "queuewrangler check") {
		t.Fatalf("the README's docker run --rm does not run check:\n%s", check)
	}
	options := regexp.MustCompile(`(?:-v|-e|--env-file) \S+`)
	got, want := options.FindAllString(check, -1), options.FindAllString(daemon, -1)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("check runs with %q, the daemon with %q", got, want)
	}
}

// TestCheckRefusesTheReadmePlaceholders: `check` passed the README's env
// file copied unedited (QW_HELPSCOUT_CLIENT_ID=<App ID from step 1>) with
// exit 0, and serve then met Help Scout's 401. It now refuses both values
// as placeholders, beside the other problems, exit 2, and never echoes
// the secret's value.
func TestCheckRefusesTheReadmePlaceholders(t *testing.T) {
	clearEnv(t)
	const secret = "<App Secret from step 1>"
	setEnv(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "<App ID from step 1>", "QW_HELPSCOUT_CLIENT_SECRET": secret,
		"QW_MODE": "yolo", "QW_DB_PATH": filepath.Join(t.TempDir(), "qw.db")})
	code, out, stderr := runMain(t, "check")
	if code != exitUsage {
		t.Fatalf("check exits %d, want %d; stdout %s; stderr %s", code, exitUsage, out, stderr)
	}
	for _, want := range []string{
		`QW_HELPSCOUT_CLIENT_ID: "<App ID from step 1>" is a placeholder copied from the README`,
		"QW_HELPSCOUT_CLIENT_SECRET: is a placeholder copied from the README",
		`QW_MODE: "yolo" is not one of off, propose, apply`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(out+stderr, secret) || strings.Contains(out+stderr, "App Secret from step 1") {
		t.Errorf("check printed the secret:\n%s\n%s", out, stderr)
	}
}
