package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestNamedMistakesAtStart: each mistake a new team makes on day one is
// named. What the configuration alone shows stops the start with exit code
// 2; what only Help Scout can tell is a WARN line in the log and a banner
// on the page, or the reason /readyz gives.
func TestNamedMistakesAtStart(t *testing.T) {
	t.Run("exit 2", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no-such-dir")
		broken := filepath.Join(t.TempDir(), "roster.json")
		if err := os.WriteFile(broken, []byte("{\n  \"agents\": [\n    {\"email\": \"a@x.io\"}"), 0o600); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			env  map[string]string
			want string
		}{
			{"the database directory is missing", map[string]string{"QW_DB_PATH": filepath.Join(missing, "qw.db")},
				"QW_DB_PATH: the directory " + missing + " does not exist (create it, or mount the volume there)"},
			{"the roster is not JSON", map[string]string{"QW_ROSTER_FILE": broken},
				"QW_ROSTER_FILE " + broken + ": line 3, column 23: the JSON ends before the roster does (a missing } or ], or a cut-off file)"},
		}
		for _, tt := range tests {
			for _, command := range []string{"serve", "sync", "plan"} {
				t.Run(tt.name+"/"+command, func(t *testing.T) {
					clearEnv(t)
					t.Setenv("QW_HELPSCOUT_CLIENT_ID", "id")
					t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "secret")
					t.Setenv("QW_DB_PATH", filepath.Join(t.TempDir(), "qw.db"))
					for k, v := range tt.env {
						t.Setenv(k, v)
					}
					if command == "sync" && strings.HasPrefix(tt.name, "the roster") {
						t.Skip("sync reads no roster")
					}
					code, _, stderr := runMain(t, command)
					if code != exitUsage || !strings.Contains(stderr, tt.want) {
						t.Errorf("exit code %d, stderr:\n%s\nwant %d and %q", code, stderr, exitUsage, tt.want)
					}
				})
			}
		}
	})

	t.Run("only Help Scout can tell", func(t *testing.T) {
		fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{RateLimitPerMinute: 10_000})
		acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 7, Conversations: 20, Span: 6 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		roster := filepath.Join(t.TempDir(), "roster.json")
		doc := fmt.Sprintf(`{"agents": [{"id": %d, "role": "sst"}, {"email": "sam@acme.exmaple", "level": 4}]}`, acct.Agents[0])
		if err := os.WriteFile(roster, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		unmatched := "The roster's agents[1] (sam@acme.exmaple) matches no Help Scout user, so nobody gets its role and level: check its id or email (QW_ROSTER_FILE)."
		noSST := "No roster is configured (QW_ROSTER_FILE), so everyone is an ST and stuck tickets have no SST to be escalated to."
		for _, tt := range []struct {
			name     string
			env      map[string]string
			want     string
			unwanted string
		}{
			{"a roster entry matches no user", map[string]string{"QW_ROSTER_FILE": roster}, unmatched, noSST},
			{"no SST for stuck tickets", map[string]string{"QW_ROSTER_FILE": ""}, noSST, unmatched},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var logs testkit.LogBuffer
				addr := startDaemonNoWait(t, ts.URL, &logs, tt.env)
				testkit.WaitFor(t, 30*time.Second, "the WARN line", func() (bool, string) {
					return strings.Contains(logs.String(), "level=WARN msg=\""+strings.ReplaceAll(tt.want, `"`, `\"`)+"\" component=roster"), logs.String()
				})
				page := get(t, "http://"+addr+"/")
				if banner := `<p class="banner notice" role="status">` + strings.ReplaceAll(tt.want, "'", "&#39;") + `</p>`; !strings.Contains(page, banner) {
					t.Errorf("the page lacks the banner %s", banner)
				}
				if strings.Contains(logs.String(), tt.unwanted) {
					t.Errorf("the log says %q, which is not so here", tt.unwanted)
				}
			})
		}
	})

	t.Run("an unknown variable", func(t *testing.T) {
		// QW_MODEE=apply used to start a daemon in propose mode in silence.
		_, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
		var logs testkit.LogBuffer
		clearEnv(t) // CI's own QW_ names (QW_E2E) would be named too
		startDaemonNoWait(t, ts.URL, &logs, map[string]string{"QW_MODEE": "apply"})
		const want = `level=WARN msg="unknown QW_ variables are ignored; queuewrangler -h lists the known ones" component=config variables="QW_MODEE (did you mean QW_MODE?)"`
		testkit.WaitFor(t, 30*time.Second, "the WARN line", func() (bool, string) {
			return strings.Contains(logs.String(), want), logs.String()
		})
	})

	t.Run("sync with a wrong secret", func(t *testing.T) {
		// The error sync ends on says what to check, as the WARN line
		// before it does, rather than oauth2's "invalid_client".
		_, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
		clearEnv(t)
		t.Setenv("QW_HELPSCOUT_API_URL", ts.URL)
		t.Setenv("QW_HELPSCOUT_CLIENT_ID", "demo")
		t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "not-the-secret")
		t.Setenv("QW_DB_PATH", filepath.Join(t.TempDir(), "qw.db"))
		t.Setenv("QW_LOG_FORMAT", "text")
		code, _, stderr := runMain(t, "sync")
		const check = "Help Scout refused the app's credentials (HTTP 401 from /v2/oauth2/token): check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET"
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if last := lines[len(lines)-1]; code != exitFailure || !strings.HasPrefix(last, "queuewrangler: sync: ") || !strings.Contains(last, check) {
			t.Errorf("exit %d, last line %q; want %d and %q", code, last, exitFailure, check)
		}
		if want := `level=WARN msg="help scout call failed; not retrying" component=helpscout`; !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	})

	t.Run("the first failed Help Scout call", func(t *testing.T) {
		// A port nothing listens on: the connection is refused. From
		// below the ephemeral range, so that no server another test
		// starts on port 0 meanwhile answers on it.
		dead := "http://" + freePortOutsideEphemeralRange(t)
		var logs testkit.LogBuffer
		addr := startDaemonNoWait(t, dead, &logs, nil)
		cause := "Help Scout cannot be reached: " + dead + " refused the connection (check QW_HELPSCOUT_API_URL)"
		testkit.WaitFor(t, 30*time.Second, "the WARN line", func() (bool, string) {
			return strings.Contains(logs.String(), `level=WARN msg="help scout call failed; retrying" component=helpscout cause="`+cause+`"`), logs.String()
		})
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := "the latest Help Scout call failed: " + cause; resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), want) {
			t.Errorf("/readyz: %d %s, want 503 with %q", resp.StatusCode, body, want)
		}
	})
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
