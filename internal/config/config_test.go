package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func load(t *testing.T, env map[string]string) *Config {
	t.Helper()
	for _, k := range Keys() {
		t.Setenv(k, "") // start from a clean slate whatever the host has
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := load(t, map[string]string{"QW_HELPSCOUT_API_URL": "https://api.helpscout.net", "QW_DB_PATH": "queuewrangler.db",
		"QW_LISTEN_ADDR": ":8080", "QW_POLL_INTERVAL": "2m", "QW_BALANCE_INTERVAL": "5m", "QW_MODE": "propose",
		"QW_STUCK_AFTER": "4h", "QW_OFFICE_FIRST_RESPONSE_TARGET": "4h", "QW_MAX_MOVES_PER_RUN": "5", "QW_OFF_SHIFT_HANDOVER": "new", "QW_RATE_LIMIT_PER_MINUTE": "200", "QW_LOG_FORMAT": "json", "QW_LOG_LEVEL": "info",
		"QW_SLACK_DIGEST_AT": "09:00"})
	if err := c.Validate(0); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got, want := c.PollInterval.Duration, 2*time.Minute; got != want {
		t.Errorf("PollInterval = %v, want %v", got, want)
	}
}

func TestDefaultsApplyWhenUnset(t *testing.T) {
	for _, k := range Keys() {
		t.Setenv(k, "")
	}
	// envconfig treats an empty variable as set; unset them for real.
	for _, k := range Keys() {
		unsetenv(t, k)
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(0); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	got := map[string]any{
		"api": c.HelpScoutAPIURL, "db": c.DBPath, "listen": c.ListenAddr, "poll": c.PollInterval.Duration,
		"balance": c.BalanceInterval.Duration, "mode": c.Mode, "stuck": c.StuckAfter.Duration,
		"moves": c.MaxMovesPerRun.N, "rate": c.RateLimitPerMinute.N, "logf": c.LogFormat, "logl": c.LogLevel,
		"handover": c.OffShiftHandover, "office": c.OfficeHours, "officeTarget": c.OfficeResponseTarget.Duration,
		"slack": c.SlackWebhookURL.Reveal(), "digest": fmt.Sprintf("%02d:%02d zone named: %v", c.SlackDigestAt.Hour, c.SlackDigestAt.Minute, c.SlackDigestAt.Location != nil),
		"public": c.PublicURL,
	}
	want := map[string]any{
		"api": "https://api.helpscout.net", "db": "queuewrangler.db", "listen": ":8080", "poll": 2 * time.Minute,
		"balance": 5 * time.Minute, "mode": "propose", "stuck": 4 * time.Hour,
		"moves": 5, "rate": 200, "logf": "json", "logl": "info", "handover": "new",
		"office": "", "officeTarget": 4 * time.Hour,
		"slack": "", "digest": "09:00 zone named: false", "public": "",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := load(t, map[string]string{
		"QW_HELPSCOUT_API_URL":        "ftp://x",
		"QW_HELPSCOUT_WEBHOOK_SECRET": strings.Repeat("s", 41),
		"QW_MAILBOXES":                "12,abc",
		"QW_DB_PATH":                  "x.db",
		"QW_LISTEN_ADDR":              "nope",
		"QW_POLL_INTERVAL":            "soon",
		"QW_BALANCE_INTERVAL":         "-5m",
		"QW_STUCK_AFTER":              "4h",
		"QW_MAX_MOVES_PER_RUN":        "five",
		"QW_RATE_LIMIT_PER_MINUTE":    "1",
		"QW_LOG_FORMAT":               "xml",
		"QW_LOG_LEVEL":                "loud",
		"QW_SLACK_WEBHOOK_URL":        "http://hooks.slack.com/services/T0/B0/secret",
		"QW_SLACK_DIGEST_AT":          "9am",
		"QW_PUBLIC_URL":               "queue.example.com",
	})
	err := c.Validate(NeedsHelpScout)
	if !IsValidation(err) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	var got []string
	for _, p := range err.(*ValidationError).Problems {
		got = append(got, strings.SplitN(p, ":", 2)[0])
	}
	want := []string{
		"QW_HELPSCOUT_CLIENT_ID", "QW_HELPSCOUT_CLIENT_SECRET", "QW_HELPSCOUT_API_URL",
		"QW_HELPSCOUT_WEBHOOK_SECRET", "QW_MAILBOXES", "QW_LISTEN_ADDR", "QW_POLL_INTERVAL", "QW_BALANCE_INTERVAL",
		"QW_OFFICE_FIRST_RESPONSE_TARGET", // set empty by load: not a duration
		"QW_SLACK_WEBHOOK_URL", "QW_SLACK_DIGEST_AT", "QW_PUBLIC_URL",
		"QW_MAX_MOVES_PER_RUN", "QW_RATE_LIMIT_PER_MINUTE", "QW_LOG_FORMAT", "QW_LOG_LEVEL",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nfull error:\n%v", diff, err)
	}
}

// TestCredentialsWithWhitespaceAreRefused: an App ID or App Secret pasted
// with a space or a newline around it started the daemon, whose every
// token request Help Scout then refused as a wrong credential.
func TestCredentialsWithWhitespaceAreRefused(t *testing.T) {
	c := load(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "app-id ", "QW_HELPSCOUT_CLIENT_SECRET": "\tsecret-value\n"})
	err := c.Validate(NeedsHelpScout)
	for _, want := range []string{
		"QW_HELPSCOUT_CLIENT_ID: has whitespace at its start or end; Help Scout's App ID and App Secret have none",
		"QW_HELPSCOUT_CLIENT_SECRET: has whitespace at its start or end",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "secret-value") {
		t.Errorf("the error repeats the secret: %v", err)
	}
	c = load(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "app-id", "QW_HELPSCOUT_CLIENT_SECRET": "  "})
	if err := c.Validate(NeedsHelpScout); err == nil || !strings.Contains(err.Error(), "QW_HELPSCOUT_CLIENT_SECRET: required") {
		t.Errorf("a blank secret: Validate = %v, want it required", err)
	}
}

// TestPlaceholderCredentialsAreRefused: the README's env file reads
// QW_HELPSCOUT_CLIENT_ID=<App ID from step 1>; copied unedited, it passed
// Validate and serve then met Help Scout's 401 on every token request.
// A value in angle brackets is refused as the placeholder it is, beside
// every other problem, and the secret's value is never repeated.
func TestPlaceholderCredentialsAreRefused(t *testing.T) {
	for _, k := range Keys() {
		t.Setenv(k, "") // registers the restore
		unsetenv(t, k)  // the defaults, valid but for what the test sets
	}
	t.Setenv("QW_HELPSCOUT_CLIENT_ID", "<App ID from step 1>")
	t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "<App Secret from step 1>")
	t.Setenv("QW_POLL_INTERVAL", "0s")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate(NeedsHelpScout)
	if !IsValidation(err) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	problems := err.(*ValidationError).Problems
	for _, want := range []string{
		`QW_HELPSCOUT_CLIENT_ID: "<App ID from step 1>" is a placeholder copied from the README, not an App ID: `,
		"QW_HELPSCOUT_CLIENT_SECRET: is a placeholder copied from the README (it starts with '<' and ends with '>'), not an App Secret: ",
		"QW_POLL_INTERVAL: must be positive",
	} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("problems lack one starting %q:\n%s", want, strings.Join(problems, "\n"))
		}
	}
	if strings.Contains(err.Error(), "App Secret from step 1") {
		t.Errorf("the error repeats the secret: %v", err)
	}
	// Only a value wrapped whole in angle brackets reads as a placeholder:
	// a real secret may hold either character.
	for _, v := range []string{"<abc", "abc>", "a<b>c", "<", ">"} {
		c := load(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": v, "QW_HELPSCOUT_CLIENT_SECRET": v})
		if err := c.Validate(NeedsHelpScout); err != nil && strings.Contains(err.Error(), "placeholder") {
			t.Errorf("%q: Validate = %v, want it taken as a value", v, err)
		}
	}
}

// TestHelpScoutOverPlainHTTPIsRefused: a typo of http:// for Help Scout's
// own API would send the app's secret in the token request unencrypted;
// a fake Help Scout may still be reached over plain http.
func TestHelpScoutOverPlainHTTPIsRefused(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://api.helpscout.net": true, "http://127.0.0.1:9090": true, "http://fake-helpscout:9090": true,
		"http://api.helpscout.net": false, "http://API.HelpScout.net/": false, "http://helpscout.net": false,
	} {
		c := load(t, map[string]string{"QW_HELPSCOUT_API_URL": url})
		err := c.Validate(0)
		refused := err != nil && strings.Contains(err.Error(), "QW_HELPSCOUT_API_URL: "+strconv.Quote(url)+" is plain http: the app's secret and tokens would cross the network unencrypted; use https://")
		if refused == ok {
			t.Errorf("QW_HELPSCOUT_API_URL=%s: Validate = %v, want refused %v", url, err, !ok)
		}
	}
}

// TestHelpScoutAPIURLWithCredentialsQueryOrFragmentIsRefused: Validate
// passed such a URL, which the Help Scout client then refused at serve's
// start, after the database was opened and with exit code 1, while
// `queuewrangler check` passed it and printed its password. It is a
// configuration problem, reported with the others, the password hidden.
func TestHelpScoutAPIURLWithCredentialsQueryOrFragmentIsRefused(t *testing.T) {
	for url, shown := range map[string]string{
		"https://me:hunter2@api.helpscout.net":  `"https://me:xxxxx@api.helpscout.net"`,
		"https://api.helpscout.net/?region=eu":  `"https://api.helpscout.net/?region=eu"`,
		"https://api.helpscout.net/#v2":         `"https://api.helpscout.net/#v2"`,
		"ftp://me:hunter2@api.helpscout.net":    `"ftp://me:xxxxx@api.helpscout.net" is not an http(s) URL`,
		"https://me:hunter2@api.helpscout.net/": `"https://me:xxxxx@api.helpscout.net/" must not carry credentials, a query or a fragment`,
	} {
		c := load(t, map[string]string{"QW_HELPSCOUT_API_URL": url})
		err := c.Validate(0)
		if err == nil || !strings.Contains(err.Error(), "QW_HELPSCOUT_API_URL: "+shown) {
			t.Errorf("QW_HELPSCOUT_API_URL=%s: Validate = %v, want a problem with %s", url, err, shown)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("QW_HELPSCOUT_API_URL=%s: the problem shows the password: %v", url, err)
		}
	}
}

func TestListenAddr(t *testing.T) {
	for addr, ok := range map[string]bool{
		":8080": true, "127.0.0.1:0": true, "[::1]:9090": true, "localhost:80": true,
		"nope": false, "8080": false, ":http": false, ":70000": false, "127.0.0.1:": false,
	} {
		c := load(t, map[string]string{"QW_LISTEN_ADDR": addr})
		err := c.Validate(0)
		if got := err == nil || !strings.Contains(err.Error(), "QW_LISTEN_ADDR"); got != ok {
			t.Errorf("QW_LISTEN_ADDR=%q: valid %v (%v), want %v", addr, got, err, ok)
		}
	}
}

func TestMailboxes(t *testing.T) {
	c := load(t, map[string]string{"QW_MAILBOXES": " 12, 3000000000 ,"})
	if diff := cmp.Diff([]int64{12, 3000000000}, c.Mailboxes.IDs); diff != "" {
		t.Errorf("mailboxes (-want +got):\n%s", diff)
	}
	// Every bad id is named, not only the first.
	err := load(t, map[string]string{"QW_MAILBOXES": "a,12,b"}).Validate(0)
	const want = `QW_MAILBOXES: "a" is not a positive id; "b" is not a positive id`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("QW_MAILBOXES=a,12,b: %v, want %q", err, want)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const raw = "hunter2-very-secret"
	s := Secret(raw)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("x", "secret", s, "config", Config{AdminToken: s, HelpScoutClientSecret: s, WebhookSecret: s})
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", s), "%s": fmt.Sprintf("%s", s), "%q": fmt.Sprintf("%q", s),
		"%x": fmt.Sprintf("%x", s), "%#v": fmt.Sprintf("%#v", s), "%+v config": fmt.Sprintf("%+v", Config{AdminToken: s}),
		"slog": buf.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, raw) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
	}
	if s.Reveal() != raw {
		t.Errorf("Reveal = %q, want the raw value", s.Reveal())
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	var buf bytes.Buffer
	if err := PrintUsage(&buf); err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		if !strings.Contains(buf.String(), k) {
			t.Errorf("usage lacks %s", k)
		}
	}
	if !strings.Contains(buf.String(), "QW_POLL_INTERVAL  ") || !strings.Contains(buf.String(), "2m") {
		t.Errorf("usage lacks a default:\n%s", buf.String())
	}
}

func TestLogger(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		want          []string // substrings of what a debug and a warn line print
	}{
		{"json", "debug", []string{`"msg":"d"`, `"msg":"w"`}},
		{"text", "warn", []string{`msg=w`}},
		{"TEXT", "loud", []string{`msg=w`}}, // an unparsable level falls back to info
	} {
		var b bytes.Buffer
		log := (&Config{LogFormat: tc.format, LogLevel: tc.level}).Logger(&b)
		log.Debug("d")
		log.Warn("w")
		if got := strings.Count(b.String(), "\n"); got != len(tc.want) {
			t.Errorf("%s at %s: %d lines, want %d:\n%s", tc.format, tc.level, got, len(tc.want), b.String())
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s at %s: output lacks %q:\n%s", tc.format, tc.level, w, b.String())
			}
		}
	}
}

// TestLogSettingsIgnoreCase: QW_LOG_FORMAT=TEXT was refused while
// QW_LOG_LEVEL=DEBUG was accepted, and Logger read both without case.
func TestLogSettingsIgnoreCase(t *testing.T) {
	c := load(t, map[string]string{"QW_LOG_FORMAT": "TEXT", "QW_LOG_LEVEL": "DEBUG"})
	if err := c.Validate(0); err != nil && strings.Contains(err.Error(), "LOG_") {
		t.Errorf("Validate = %v, want the log settings accepted in capitals", err)
	}
	c = load(t, map[string]string{"QW_LOG_FORMAT": "yaml"})
	if err := c.Validate(0); err == nil || !strings.Contains(err.Error(), `QW_LOG_FORMAT: "yaml" is not json or text`) {
		t.Errorf("Validate = %v, want yaml refused", err)
	}
}

// Issue 17, rows 1-4: weak or blank secrets stop the daemon at start, all
// reported together, without repeating the secret.
func TestValidateRefusesWeakSecrets(t *testing.T) {
	for _, tc := range []struct {
		name, admin, webhook string
		want                 []string // problem keys, in order
	}{
		{"row 1: a three-character token", "abc", "", []string{"QW_ADMIN_TOKEN"}},
		{"row 2: a token of three spaces", "   ", "", []string{"QW_ADMIN_TOKEN"}},
		{"row 3: a token ending in a newline", "0123456789abcdefXYZ\n", "", []string{"QW_ADMIN_TOKEN"}},
		{"row 4: a webhook secret of one space", "", " ", []string{"QW_HELPSCOUT_WEBHOOK_SECRET"}},
		{"both at once", "short", "\t ", []string{"QW_HELPSCOUT_WEBHOOK_SECRET", "QW_ADMIN_TOKEN"}},
		{"a 16-character token and a real secret", "0123456789abcdef", "hook-secret", nil},
		{"no token (read-only) and no secret (webhooks off)", "", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := load(t, map[string]string{"QW_ADMIN_TOKEN": tc.admin, "QW_HELPSCOUT_WEBHOOK_SECRET": tc.webhook})
			err := c.Validate(0)
			var got []string
			if err != nil {
				ve, ok := err.(*ValidationError)
				if !ok {
					t.Fatalf("Validate = %v, want a *ValidationError", err)
				}
				for _, p := range ve.Problems {
					if key := strings.SplitN(p, ":", 2)[0]; key == "QW_ADMIN_TOKEN" || key == "QW_HELPSCOUT_WEBHOOK_SECRET" {
						got = append(got, key)
					}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\nfull error: %v", diff, err)
			}
			if err != nil && strings.TrimSpace(tc.admin) != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.admin)) {
				t.Errorf("the error repeats the token: %v", err)
			}
		})
	}
}

func TestAdminTokenErrorSuggestsAFreshToken(t *testing.T) {
	c := load(t, map[string]string{"QW_ADMIN_TOKEN": "abc"})
	err := c.Validate(0)
	if err == nil {
		t.Fatal("a three-character admin token validated")
	}
	_, suggestion, ok := strings.Cut(err.Error(), "such as ")
	suggestion, _, _ = strings.Cut(suggestion, "\n")
	if !ok || utf8.RuneCountInString(suggestion) < MinAdminTokenLength || adminTokenProblem(suggestion) != "" {
		t.Fatalf("no usable token suggested in %q", err)
	}
	if again := load(t, map[string]string{"QW_ADMIN_TOKEN": "abc"}).Validate(0).Error(); strings.Contains(again, suggestion) {
		t.Errorf("the same token was suggested twice: %q", suggestion)
	}
}

func TestAllowedHosts(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  []string
		ok    bool
	}{
		{"", nil, true},
		{"Queue.Example.com, queue.example.com:8443 ,10.0.0.5,[::1]:8080,[fe80::1]", []string{"queue.example.com", "queue.example.com:8443", "10.0.0.5", "[::1]:8080", "[fe80::1]"}, true},
		{"https://queue.example.com", nil, false},
		{"queue.example.com/page", nil, false},
		{"queue.example.com:http", nil, false},
		{"queue.example.com:0", nil, false},
		{"::1", nil, false},
		{":8080", nil, false},
	} {
		c := load(t, map[string]string{"QW_ALLOWED_HOSTS": tc.value})
		err := c.Validate(0)
		if got := err == nil || !strings.Contains(err.Error(), "QW_ALLOWED_HOSTS"); got != tc.ok {
			t.Errorf("QW_ALLOWED_HOSTS=%q: valid %v (%v), want %v", tc.value, got, err, tc.ok)
		}
		if tc.ok {
			if diff := cmp.Diff(tc.want, c.AllowedHosts.Hosts); diff != "" {
				t.Errorf("QW_ALLOWED_HOSTS=%q (-want +got):\n%s", tc.value, diff)
			}
		}
	}
}

// TestOfficeResponseTarget: the office-hours target is a positive
// duration; QW_OFFICE_HOURS itself is the roster's syntax, checked by main.
func TestOfficeResponseTarget(t *testing.T) {
	for value, want := range map[string]string{
		"90m":  "",
		"0s":   "QW_OFFICE_FIRST_RESPONSE_TARGET: must be positive, got 0s",
		"-1h":  "QW_OFFICE_FIRST_RESPONSE_TARGET: must be positive, got -1h",
		"soon": `QW_OFFICE_FIRST_RESPONSE_TARGET: "soon" is not a duration`,
	} {
		c := load(t, map[string]string{"QW_OFFICE_FIRST_RESPONSE_TARGET": value, "QW_LOG_FORMAT": "json", "QW_LOG_LEVEL": "info",
			"QW_HELPSCOUT_API_URL": "https://api.helpscout.net", "QW_DB_PATH": "qw.db", "QW_LISTEN_ADDR": ":8080",
			"QW_POLL_INTERVAL": "2m", "QW_BALANCE_INTERVAL": "5m", "QW_STUCK_AFTER": "4h", "QW_MAX_MOVES_PER_RUN": "5",
			"QW_OFF_SHIFT_HANDOVER": "new", "QW_RATE_LIMIT_PER_MINUTE": "200", "QW_SLACK_DIGEST_AT": "09:00"})
		err := c.Validate(0)
		switch {
		case want == "" && err != nil:
			t.Errorf("QW_OFFICE_FIRST_RESPONSE_TARGET=%q: %v", value, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("QW_OFFICE_FIRST_RESPONSE_TARGET=%q: %v, want %q", value, err, want)
		}
	}
}

// TestDefaultsAreWhatAnEmptyEnvironmentGives: Defaults and Load agree, and
// the defaults pass Validate.
func TestDefaultsAreWhatAnEmptyEnvironmentGives(t *testing.T) {
	for _, k := range Keys() {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	loaded, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	got := Defaults()
	if diff := cmp.Diff(loaded, got, cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
		t.Errorf("Defaults differs from an empty environment (-load +defaults):\n%s", diff)
	}
	if err := got.Validate(0); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

// TestSlackWebhookURL: https anywhere, plain http only to this machine, and
// the problem never repeats the URL, whose path is the credential.
func TestSlackWebhookURL(t *testing.T) {
	const credential = "T0AAA/B0BBB/XXXXsecretXXXX"
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"", true},
		{"https://hooks.slack.com/services/" + credential, true},
		{"http://127.0.0.1:41234/services/" + credential, true},
		{"http://localhost:41234/services/" + credential, true},
		{"http://[::1]:41234/services/" + credential, true},
		{"http://hooks.slack.com/services/" + credential, false},
		{"hooks.slack.com/services/" + credential, false},
		{"https://user:pw@hooks.slack.com/services/" + credential, false},
		{"https://%zz/" + credential, false},
	} {
		c := load(t, map[string]string{"QW_SLACK_WEBHOOK_URL": tc.value})
		err := c.Validate(0)
		if got := err == nil || !strings.Contains(err.Error(), "QW_SLACK_WEBHOOK_URL"); got != tc.ok {
			t.Errorf("QW_SLACK_WEBHOOK_URL=%q: valid %v (%v), want %v", tc.value, got, err, tc.ok)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("QW_SLACK_WEBHOOK_URL=%q: the problem repeats the credential: %v", tc.value, err)
		}
		if got := fmt.Sprint(c.SlackWebhookURL); tc.value != "" && got != "[redacted]" {
			t.Errorf("the webhook URL prints as %q, want [redacted]", got)
		}
	}
}

func TestSlackDigestAt(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		value        string
		hour, minute int
		loc          *time.Location
		problem      string
	}{
		{"09:00", 9, 0, nil, ""},
		{" 17:45  Europe/Berlin ", 17, 45, berlin, ""},
		{"00:00 UTC", 0, 0, time.UTC, ""},
		{"9am", 0, 0, nil, `"9am" is not a time of day`},
		{"24:00", 0, 0, nil, `"24:00" is not a time of day`},
		{"09:00 Mars/Olympus", 0, 0, nil, `"Mars/Olympus" is not an IANA time zone`},
		{"09:00 Local", 0, 0, nil, "not Local"},
	} {
		c := load(t, map[string]string{"QW_SLACK_DIGEST_AT": tc.value})
		err := c.Validate(0)
		if tc.problem != "" {
			if err == nil || !strings.Contains(err.Error(), "QW_SLACK_DIGEST_AT: ") || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("QW_SLACK_DIGEST_AT=%q: %v, want a problem saying %q", tc.value, err, tc.problem)
			}
			continue
		}
		if err != nil && strings.Contains(err.Error(), "QW_SLACK_DIGEST_AT") {
			t.Errorf("QW_SLACK_DIGEST_AT=%q: %v", tc.value, err)
		}
		d := c.SlackDigestAt
		if d.Hour != tc.hour || d.Minute != tc.minute || d.Location.String() != tc.loc.String() || (d.Location == nil) != (tc.loc == nil) {
			t.Errorf("QW_SLACK_DIGEST_AT=%q = %02d:%02d %v, want %02d:%02d %v", tc.value, d.Hour, d.Minute, d.Location, tc.hour, tc.minute, tc.loc)
		}
	}
}

func TestPublicURL(t *testing.T) {
	for value, ok := range map[string]bool{
		"": true, "https://queue.example.com": true, "http://127.0.0.1:8080/": true,
		"queue.example.com": false, "ftp://queue.example.com": false,
	} {
		c := load(t, map[string]string{"QW_PUBLIC_URL": value})
		err := c.Validate(0)
		if got := err == nil || !strings.Contains(err.Error(), "QW_PUBLIC_URL"); got != ok {
			t.Errorf("QW_PUBLIC_URL=%q: valid %v (%v), want %v", value, got, err, ok)
		}
	}
}

// TestAllowedHostsRefusesWildcards: QW_ALLOWED_HOSTS='*' was taken as a
// literal host name, and then every request got 421. A wildcard is
// refused with what to write instead.
func TestAllowedHostsRefusesWildcards(t *testing.T) {
	for _, value := range []string{"*", "*.example.com", "queue.example.com,*", "queue.*.com:8443", "queue?.example.com"} {
		c := load(t, map[string]string{"QW_ALLOWED_HOSTS": value})
		err := c.Validate(0)
		const want = "empty means any host; wildcards are not supported"
		if err == nil || !strings.Contains(err.Error(), "QW_ALLOWED_HOSTS: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("QW_ALLOWED_HOSTS=%q: Validate = %v, want a QW_ALLOWED_HOSTS problem saying %q", value, err, want)
		}
	}
}

// TestIntervalsHaveAFloor: QW_POLL_INTERVAL=1ms and QW_BALANCE_INTERVAL=1ns
// passed check, and serve then spun a core polling and planning. A period
// under a second is refused; a second and above, as tests run the daemon,
// passes.
func TestIntervalsHaveAFloor(t *testing.T) {
	for _, key := range []string{"QW_POLL_INTERVAL", "QW_BALANCE_INTERVAL"} {
		for value, want := range map[string]string{
			"1ns":   key + ": must be at least 1s (a shorter period only spends CPU and the API budget), got 1ns",
			"1ms":   key + ": must be at least 1s (a shorter period only spends CPU and the API budget), got 1ms",
			"999ms": key + ": must be at least 1s",
			"0s":    key + ": must be positive, got 0s",
			"1s":    "",
			"2m":    "",
		} {
			c := load(t, map[string]string{"QW_POLL_INTERVAL": "2m", "QW_BALANCE_INTERVAL": "5m", key: value})
			err := c.Validate(0)
			got := err != nil && strings.Contains(err.Error(), key+": ")
			if want == "" && got {
				t.Errorf("%s=%s: %v, want no problem with it", key, value, err)
			}
			if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
				t.Errorf("%s=%s: %v, want %q", key, value, err, want)
			}
		}
	}
}

// TestPublicURLWithCredentialsQueryOrFragmentIsRefused: QW_PUBLIC_URL took
// https://u:pw@host/?token=x, check printed it whole, and it went into every
// Slack link. It is refused as QW_HELPSCOUT_API_URL's are, the password
// never shown.
func TestPublicURLWithCredentialsQueryOrFragmentIsRefused(t *testing.T) {
	for value, shown := range map[string]string{
		"https://u:hunter2@queue.example.com/?token=x": `"https://u:xxxxx@queue.example.com/?token=x" must not carry credentials, a query or a fragment`,
		"https://u:hunter2@queue.example.com":          `"https://u:xxxxx@queue.example.com" must not carry credentials, a query or a fragment`,
		"https://queue.example.com/?token=x":           `"https://queue.example.com/?token=x" must not carry credentials, a query or a fragment`,
		"https://queue.example.com/#top":               `"https://queue.example.com/#top" must not carry credentials, a query or a fragment`,
		"ftp://u:hunter2@queue.example.com":            `"ftp://u:xxxxx@queue.example.com" is not an http(s) URL`,
		"https://u:hunter2@queue.example.com/%zz":      `is not an http(s) URL (it does not parse;`,
	} {
		c := load(t, map[string]string{"QW_PUBLIC_URL": value})
		err := c.Validate(0)
		if err == nil || !strings.Contains(err.Error(), "QW_PUBLIC_URL: "+shown) {
			t.Errorf("QW_PUBLIC_URL=%s: Validate = %v, want a problem with %s", value, err, shown)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("QW_PUBLIC_URL=%s: the problem shows the password: %v", value, err)
		}
	}
}

// TestHelpScoutAPIURLEndingInV2IsRefused: https://api.helpscout.net/v2/
// was accepted, every request then went to /v2/v2/..., and /readyz blamed
// the credentials. A path without /v2 at its end is a proxy's prefix.
func TestHelpScoutAPIURLEndingInV2IsRefused(t *testing.T) {
	for url, want := range map[string]string{
		"https://api.helpscout.net":               "",
		"https://api.helpscout.net/":              "",
		"http://127.0.0.1:9090/":                  "",
		"http://127.0.0.1:9090/helpscout/":        "",
		"https://api.helpscout.net/v2/":           `QW_HELPSCOUT_API_URL: "https://api.helpscout.net/v2/" ends in /v2: give the base URL without it, such as https://api.helpscout.net/`,
		"https://api.helpscout.net/v2":            `QW_HELPSCOUT_API_URL: "https://api.helpscout.net/v2" ends in /v2: give the base URL without it, such as https://api.helpscout.net/`,
		"https://proxy.example.com/helpscout/V2/": `such as https://proxy.example.com/helpscout/`,
		"https://api.helpscout.net/v2/%zz/":       "does not parse",
	} {
		c := load(t, map[string]string{"QW_HELPSCOUT_API_URL": url})
		err := c.Validate(0)
		got := err != nil && strings.Contains(err.Error(), "QW_HELPSCOUT_API_URL")
		if want == "" && got {
			t.Errorf("QW_HELPSCOUT_API_URL=%s: %v, want no problem with it", url, err)
		}
		if want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("QW_HELPSCOUT_API_URL=%s: %v, want %q", url, err, want)
		}
	}
}
