package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSettingsOfTheDefaults: every variable, in -h order, each at its
// default, and an empty one says what empty means.
func TestSettingsOfTheDefaults(t *testing.T) {
	settings := Defaults().Settings()
	var keys []string
	values := map[string]string{}
	for _, s := range settings {
		keys = append(keys, s.Key)
		values[s.Key] = s.Value
		if !s.IsDefault {
			t.Errorf("%s = %q is not marked as the default", s.Key, s.Value)
		}
	}
	if diff := cmp.Diff(Keys(), keys); diff != "" {
		t.Errorf("settings' keys differ from Keys (-Keys +settings):\n%s", diff)
	}
	for key, want := range map[string]string{
		"QW_MAILBOXES": "empty = all", "QW_HELPSCOUT_WEBHOOK_SECRET": "empty disables webhooks",
		"QW_ROSTER_FILE": "empty = every user is an ST at level 2", "QW_ADMIN_TOKEN": "empty = read-only",
		"QW_HELPSCOUT_CLIENT_ID": "empty", "QW_POLL_INTERVAL": "2m", "QW_STUCK_AFTER": "4h", "QW_MAX_MOVES_PER_RUN": "5",
		"QW_SLACK_DIGEST_AT": "09:00", "QW_MODE": "propose", "QW_DB_PATH": "queuewrangler.db",
	} {
		if values[key] != want {
			t.Errorf("%s shows %q, want %q", key, values[key], want)
		}
	}
}

// TestWriteSettingsHidesSecretsAndMarksChanges: what a command runs with,
// as written, with every secret only as "set", and the values that are
// not the default marked.
func TestWriteSettingsHidesSecretsAndMarksChanges(t *testing.T) {
	secrets := []string{"client-secret-value", "webhook-secret", "admin-token-that-is-long", "https://hooks.slack.com/services/T/B/x"}
	c := load(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "app-id", "QW_HELPSCOUT_CLIENT_SECRET": secrets[0],
		"QW_HELPSCOUT_WEBHOOK_SECRET": secrets[1], "QW_ADMIN_TOKEN": secrets[2], "QW_SLACK_WEBHOOK_URL": secrets[3],
		"QW_POLL_INTERVAL": "90s", "QW_BALANCE_INTERVAL": "1h30m", "QW_MAILBOXES": "12, 34", "QW_ALLOWED_HOSTS": "Queue.Example.com",
		"QW_SLACK_DIGEST_AT": "08:30 Europe/Berlin", "QW_MODE": "apply", "QW_MAX_MOVES_PER_RUN": "5",
		"QW_HELPSCOUT_API_URL": "https://api.helpscout.net", "QW_DB_PATH": "queuewrangler.db", "QW_LISTEN_ADDR": ":8080",
		"QW_STUCK_AFTER": "4h", "QW_OFFICE_FIRST_RESPONSE_TARGET": "4h", "QW_OFF_SHIFT_HANDOVER": "new", "QW_ROUTING": "helpscout",
		"QW_BACKLOG": "idle", "QW_RATE_LIMIT_PER_MINUTE": "200", "QW_LOG_FORMAT": "json", "QW_LOG_LEVEL": "info"})
	var out bytes.Buffer
	if err := c.WriteSettings(&out); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(out.String(), s) {
			t.Errorf("the settings show the secret %q:\n%s", s, out.String())
		}
	}
	lines := map[string]string{}
	for line := range strings.Lines(out.String()) {
		if fields := strings.Fields(line); len(fields) > 2 && strings.HasPrefix(fields[1], "QW_") {
			lines[fields[1]] = strings.Join(fields, " ")
		}
	}
	for key, want := range map[string]string{
		"QW_HELPSCOUT_CLIENT_SECRET": "* QW_HELPSCOUT_CLIENT_SECRET set (hidden)", "QW_ADMIN_TOKEN": "* QW_ADMIN_TOKEN set (hidden)",
		"QW_SLACK_WEBHOOK_URL": "* QW_SLACK_WEBHOOK_URL set (hidden)", "QW_POLL_INTERVAL": "* QW_POLL_INTERVAL 1m30s",
		"QW_BALANCE_INTERVAL": "* QW_BALANCE_INTERVAL 1h30m", "QW_MAILBOXES": "* QW_MAILBOXES 12,34",
		"QW_ALLOWED_HOSTS": "* QW_ALLOWED_HOSTS queue.example.com", "QW_SLACK_DIGEST_AT": "* QW_SLACK_DIGEST_AT 08:30 Europe/Berlin",
		"QW_MODE": "* QW_MODE apply",
	} {
		if lines[key] != want {
			t.Errorf("%s's line is %q, want %q", key, lines[key], want)
		}
	}
	if line := out.String()[strings.Index(out.String(), "QW_MAX_MOVES_PER_RUN")-4:]; !strings.HasPrefix(line, "    QW_MAX_MOVES_PER_RUN") {
		t.Errorf("QW_MAX_MOVES_PER_RUN at its default is marked as changed: %q", line[:40])
	}
}
