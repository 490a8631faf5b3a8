package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Prefix is the environment prefix of every variable.
const Prefix = "QW"

// Config is every QW_* variable. Field order is the order -h prints.
type Config struct {
	HelpScoutClientID     string   `envconfig:"HELPSCOUT_CLIENT_ID" desc:"OAuth2 client-credentials app id (required for serve, sync)"`
	HelpScoutClientSecret Secret   `envconfig:"HELPSCOUT_CLIENT_SECRET" desc:"OAuth2 app secret (required for serve, sync)"`
	HelpScoutAPIURL       string   `envconfig:"HELPSCOUT_API_URL" default:"https://api.helpscout.net" desc:"Help Scout API base URL: scheme and host, and a proxy's path prefix if any, not ending in /v2"`
	WebhookSecret         Secret   `envconfig:"HELPSCOUT_WEBHOOK_SECRET" desc:"webhook secret, at most 40 characters; empty disables webhooks"`
	Mailboxes             IDList   `envconfig:"MAILBOXES" desc:"comma-separated mailbox ids to mirror and balance; empty = all; users who can open none of them are left out"`
	DBPath                string   `envconfig:"DB_PATH" default:"queuewrangler.db" desc:"SQLite file; this user must be able to write it and its directory, where the .lock, -wal and -shm files go"`
	ListenAddr            string   `envconfig:"LISTEN_ADDR" default:":8080" desc:"listen address for webhooks, /metrics, health, page and API"`
	AllowedHosts          HostList `envconfig:"ALLOWED_HOSTS" desc:"comma-separated host names (optional :port) the HTTP surface answers to, others get 421; no wildcards; empty = any (warned at start)"`
	PollInterval          Duration `envconfig:"POLL_INTERVAL" default:"2m" desc:"incremental poll period, at least 1s"`
	BalanceInterval       Duration `envconfig:"BALANCE_INTERVAL" default:"5m" desc:"balancer period, at least 1s"`
	Mode                  string   `envconfig:"MODE" default:"propose" desc:"off (nothing is planned or moved), propose (each move waits for an SST's approval on the queue page) or apply (moves are made, within the caps)"`
	RosterFile            string   `envconfig:"ROSTER_FILE" desc:"roster JSON; empty = every user is an ST at level 2"`
	StuckAfter            Duration `envconfig:"STUCK_AFTER" default:"4h" desc:"customer wait after which an assigned active ticket is stuck"`
	MaxMovesPerRun        Int      `envconfig:"MAX_MOVES_PER_RUN" default:"5" desc:"cap on moves per balancer run"`
	OffShiftHandover      string   `envconfig:"OFF_SHIFT_HANDOVER" default:"new" desc:"waiting tickets of someone off shift handed to whoever is on: new (customers nobody has answered yet) or all (ongoing conversations too: follow the sun)"`
	Routing               string   `envconfig:"ROUTING" default:"helpscout" desc:"who makes first assignments: helpscout (the inbox's routing as configured; queuewrangler rebalances), steer (queuewrangler keeps the routing rotation to who should get the next ticket; needs Manage Routing), own (routing off; queuewrangler assigns each new conversation)"`
	Backlog               string   `envconfig:"BACKLOG" default:"idle" desc:"when the Unassigned folder is handed out: idle (to people with no customer waiting: the best median), oldest (at once, oldest first: the shortest tail, a slower median), or a duration between (30m: to whoever's queue is shorter than that)"`
	OfficeHours           string   `envconfig:"OFFICE_HOURS" desc:"office hours for the *_office_seconds histograms: roster shift syntax, then a time zone (Mon-Fri 09:00-17:00 America/New_York; ranges separated by ;); empty = none"`
	OfficeResponseTarget  Duration `envconfig:"OFFICE_FIRST_RESPONSE_TARGET" default:"4h" desc:"office-hours first response p90 target, exported for the shipped alert (with QW_OFFICE_HOURS)"`
	SlackWebhookURL       Secret   `envconfig:"SLACK_WEBHOOK_URL" desc:"Slack incoming webhook (a secret): proposals waiting for approval, stuck-ticket escalations and a daily digest; https (http only to localhost); empty = no Slack"`
	SlackDigestAt         DailyAt  `envconfig:"SLACK_DIGEST_AT" default:"09:00" desc:"local time of the daily Slack digest, with an optional IANA zone (09:00 Europe/Berlin); default zone: QW_OFFICE_HOURS' zone, else UTC"`
	PublicURL             string   `envconfig:"PUBLIC_URL" desc:"the queue page's public address (https://queue.example.com), linked from Slack messages, without user info, query or fragment; empty = no links"`
	AdminToken            Secret   `envconfig:"ADMIN_TOKEN" desc:"bearer token for approve/reject/plan, at least 16 characters; empty = read-only"`
	RateLimitPerMinute    Int      `envconfig:"RATE_LIMIT_PER_MINUTE" default:"200" desc:"client-side Help Scout request budget per minute (writes count 2)"`
	LogFormat             string   `envconfig:"LOG_FORMAT" default:"json" desc:"json or text"`
	LogLevel              string   `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
}

// Logger returns the logger QW_LOG_FORMAT and QW_LOG_LEVEL ask for,
// writing to w: JSON unless the format is text, at info when the level
// does not parse (Validate reports it).
func (c *Config) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// Requirement names what a command needs beyond the always-checked values.
type Requirement int

// Requirements a command may ask Validate to check.
const (
	// NeedsHelpScout demands API credentials (serve, sync).
	NeedsHelpScout Requirement = 1 << iota
	// WritesDB demands that this user may write the database and create
	// the files beside it (serve, sync; plan and backfill only read).
	WritesDB
	// WritableNow demands, for check, that the database's file system is
	// mounted read-write now. serve itself waits for a remount instead
	// (dbPathProblem says why), so only a check before a start says it.
	WritableNow
)

// minPeriod is the shortest QW_POLL_INTERVAL and QW_BALANCE_INTERVAL.
const minPeriod = time.Second

// maxWebhookSecret is Help Scout's documented limit for a webhook secret.
const maxWebhookSecret = 40

// Load reads the QW_ variables from the process environment and applies the
// defaults. A bad value does not stop it: call Validate for the full list.
func Load() (*Config, error) {
	var c Config
	if err := envconfig.Process(Prefix, &c); err != nil {
		// Only a structural problem lands here: every field type records
		// its own value errors.
		return nil, fmt.Errorf("read environment: %w", err)
	}
	return &c, nil
}

// Defaults returns the configuration an empty environment gives: every
// field at its documented default. A program that builds its configuration
// from values (the demo, tests) starts from it, so that a variable added
// later has its default there too instead of a zero value.
func Defaults() *Config {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		def, ok := t.Field(i).Tag.Lookup("default")
		if !ok {
			continue
		}
		switch f := v.Field(i).Addr().Interface().(type) {
		case envconfig.Decoder:
			_ = f.Decode(def) // the defaults are valid; a test checks them
		case *string:
			*f = def
		default:
			panic(fmt.Sprintf("config: %s has a default but no way to decode it", t.Field(i).Name))
		}
	}
	return &c
}

// Keys lists every environment variable name, in -h order.
func Keys() []string {
	t := reflect.TypeFor[Config]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, Prefix+"_"+t.Field(i).Tag.Get("envconfig"))
	}
	return keys
}

// ValidationError lists every configuration problem found.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string {
	return "invalid configuration:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// isPlaceholder reports whether a credential is a placeholder such as the
// README's <App ID from step 1>: wrapped whole in angle brackets. A value
// with a '<' or a '>' anywhere else is left to Help Scout to judge.
func isPlaceholder(v string) bool {
	return len(v) >= 2 && strings.HasPrefix(v, "<") && strings.HasSuffix(v, ">")
}

// Validate checks every value and returns a *ValidationError naming each
// problem, or nil. QW_MODE, QW_ROUTING, QW_OFF_SHIFT_HANDOVER, QW_BACKLOG
// and QW_OFFICE_HOURS are the exceptions: their syntax belongs to the
// rebalancer (rebalance.Mode), the balancer (balancer.ParseRoutingMode,
// ParseHandover, ParseBacklog) and the roster (roster.ParseOfficeHours),
// which this package may not import, so main checks them and reports them
// beside these problems.
func (c *Config) Validate(need Requirement) error {
	var p []string
	add := func(key, format string, args ...any) {
		p = append(p, Prefix+"_"+key+": "+fmt.Sprintf(format, args...))
	}
	// credential checks an App ID or App Secret; what names it in the
	// messages. A secret's value is never repeated in them.
	credential := func(key, what, value string, secret bool) {
		switch {
		case strings.TrimSpace(value) == "":
			add(key, "required")
		case strings.TrimSpace(value) != value:
			// Help Scout compares the exact bytes: a space or newline
			// pasted with the value would be refused as a wrong credential.
			add(key, "has whitespace at its start or end; Help Scout's App ID and App Secret have none")
		case isPlaceholder(value):
			// The README's env file reads <App ID from step 1>: copied
			// unedited it would start the daemon, whose every token
			// request Help Scout then refuses with a 401.
			fix := fmt.Sprintf("set the %s of your Help Scout app (Your Profile > My Apps)", what)
			if secret {
				add(key, "is a placeholder copied from the README (it starts with '<' and ends with '>'), not an %s: %s", what, fix)
			} else {
				add(key, "%q is a placeholder copied from the README, not an %s: %s", value, what, fix)
			}
		}
	}
	if need&NeedsHelpScout != 0 {
		credential("HELPSCOUT_CLIENT_ID", "App ID", c.HelpScoutClientID, false)
		credential("HELPSCOUT_CLIENT_SECRET", "App Secret", c.HelpScoutClientSecret.Reveal(), true)
	}
	switch u, err := url.Parse(c.HelpScoutAPIURL); {
	case err != nil:
		// Not repeated: what does not parse may hold a password.
		add("HELPSCOUT_API_URL", "is not an http(s) URL (it does not parse)")
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		add("HELPSCOUT_API_URL", "%q is not an http(s) URL", u.Redacted())
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		// The Help Scout client refuses them (helpscout.Client.WithBaseURL):
		// said here, every problem is reported at once, before anything
		// starts, and `queuewrangler check` finds it too.
		add("HELPSCOUT_API_URL", "%q must not carry credentials, a query or a fragment", u.Redacted())
	case strings.EqualFold(path.Base(u.Path), "v2"):
		// The client adds /v2/... itself: .../v2/ sent every request to
		// /v2/v2/..., whose 401 or 404 then read as wrong credentials.
		// Another path is kept: a proxy may serve the API under a prefix.
		add("HELPSCOUT_API_URL", "%q ends in /v2: give the base URL without it, such as %s://%s%s", u.Redacted(), u.Scheme, u.Host, strings.TrimSuffix(strings.TrimSuffix(u.EscapedPath(), "/"), path.Base(u.Path)))
	case u.Scheme == "http" && isHelpScoutHost(u.Hostname()):
		// The token request carries the app's secret: over plain http it
		// crosses the network readable before Help Scout can redirect.
		add("HELPSCOUT_API_URL", "%q is plain http: the app's secret and tokens would cross the network unencrypted; use https://%s", c.HelpScoutAPIURL, u.Host)
	}
	if n := len(c.WebhookSecret.Reveal()); n > maxWebhookSecret {
		add("HELPSCOUT_WEBHOOK_SECRET", "is %d characters; Help Scout allows at most %d", n, maxWebhookSecret)
	}
	if c.WebhookSecret.IsSet() && strings.TrimSpace(c.WebhookSecret.Reveal()) == "" {
		add("HELPSCOUT_WEBHOOK_SECRET", "is blank (only whitespace): anyone could sign a webhook with it; "+
			"set the secret Help Scout shows, or leave it empty to disable webhooks")
	}
	if problem := adminTokenProblem(c.AdminToken.Reveal()); problem != "" {
		add("ADMIN_TOKEN", "%s; leave it empty for a read-only daemon, or use a fresh random token such as %s", problem, SuggestToken())
	}
	if c.Mailboxes.err != nil {
		add("MAILBOXES", "%v", c.Mailboxes.err)
	}
	if strings.TrimSpace(c.DBPath) == "" {
		add("DB_PATH", "must not be empty")
	} else if problem := dbPathProblem(c.DBPath, need&WritesDB != 0); problem != "" {
		add("DB_PATH", "%s", problem)
	} else if dir := filepath.Dir(c.DBPath); need&WritableNow != 0 && readOnlyFS(dir) {
		add("DB_PATH", "the directory %s is on a file system mounted read-only: serve would wait for it to be remounted read-write, "+
			"ready never; mount it read-write (a volume mounted :ro, or no volume at that path on a read-only root)", dir)
	}
	if problem := listenAddrProblem(c.ListenAddr); problem != "" {
		add("LISTEN_ADDR", "%s", problem)
	}
	if c.AllowedHosts.err != nil {
		add("ALLOWED_HOSTS", "%v", c.AllowedHosts.err)
	}
	positive := func(key string, d Duration) {
		switch {
		case d.err != nil:
			add(key, "%v", d.err)
		case d.Duration <= 0:
			add(key, "must be positive, got %s", d.raw)
		}
	}
	// The loops' periods: a millisecond passed and then spun a core
	// polling and planning. No team needs under a second (the defaults
	// are minutes); the floor is that low because end-to-end tests run
	// the real binary with 1s periods.
	period := func(key string, d Duration) {
		positive(key, d)
		if d.err == nil && d.Duration > 0 && d.Duration < minPeriod {
			add(key, "must be at least %s (a shorter period only spends CPU and the API budget), got %s", minPeriod, d.raw)
		}
	}
	period("POLL_INTERVAL", c.PollInterval)
	period("BALANCE_INTERVAL", c.BalanceInterval)
	positive("STUCK_AFTER", c.StuckAfter)
	positive("OFFICE_FIRST_RESPONSE_TARGET", c.OfficeResponseTarget)
	if problem := slackWebhookProblem(c.SlackWebhookURL.Reveal()); problem != "" {
		add("SLACK_WEBHOOK_URL", "%s", problem)
	}
	if c.SlackDigestAt.err != nil {
		add("SLACK_DIGEST_AT", "%v", c.SlackDigestAt.err)
	}
	if c.PublicURL != "" {
		switch u, err := url.Parse(c.PublicURL); {
		case err != nil:
			// Not repeated: what does not parse may hold a password.
			add("PUBLIC_URL", "is not an http(s) URL (it does not parse; example: https://queue.example.com)")
		case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			add("PUBLIC_URL", "%q is not an http(s) URL (example: https://queue.example.com)", u.Redacted())
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			// It goes into every Slack message: a password or a token in
			// it would be posted to the channel, and a query or fragment
			// would break the links built on it.
			add("PUBLIC_URL", "%q must not carry credentials, a query or a fragment (example: https://queue.example.com)", u.Redacted())
		}
	}
	switch {
	case c.MaxMovesPerRun.err != nil:
		add("MAX_MOVES_PER_RUN", "%v", c.MaxMovesPerRun.err)
	case c.MaxMovesPerRun.N < 0:
		add("MAX_MOVES_PER_RUN", "must not be negative")
	}
	switch {
	case c.RateLimitPerMinute.err != nil:
		add("RATE_LIMIT_PER_MINUTE", "%v", c.RateLimitPerMinute.err)
	case c.RateLimitPerMinute.N < 2:
		// A write costs 2; a smaller budget could never send one.
		add("RATE_LIMIT_PER_MINUTE", "must be at least 2, got %d", c.RateLimitPerMinute.N)
	}
	switch strings.ToLower(c.LogFormat) { // as QW_LOG_LEVEL, and as Logger reads it
	case "json", "text":
	default:
		add("LOG_FORMAT", "%q is not json or text", c.LogFormat)
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		add("LOG_LEVEL", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}

// isHelpScoutHost reports whether host is Help Scout's own (plain http
// stays allowed for a fake Help Scout elsewhere, whose secret is none).
func isHelpScoutHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "helpscout.net" || strings.HasSuffix(host, ".helpscout.net")
}

// IsValidation reports whether err is a configuration problem (exit code 2).
func IsValidation(err error) bool {
	var v *ValidationError
	return errors.As(err, &v)
}

// PrintUsage writes every variable with its default and meaning.
func PrintUsage(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	const format = `{{range .}}  {{usage_key .}}	{{usage_default .}}	{{usage_description .}}
{{end}}`
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tMEANING")
	if err := envconfig.Usagef(Prefix, &Config{}, tw, format); err != nil {
		return err
	}
	return tw.Flush()
}

// slackWebhookProblem says what is wrong with a Slack webhook URL, or "".
// It never repeats the URL: its path is the credential, and the message
// goes to the terminal. Plain http is allowed only to this machine, so
// that tests and a local relay can receive the messages.
func slackWebhookProblem(raw string) string {
	if raw == "" {
		return "" // no Slack
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "is not a URL of the form https://hooks.slack.com/services/..." // the parse error would quote it
	}
	switch host := u.Hostname(); {
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && (host == "localhost" || host == "127.0.0.1" || host == "::1"):
		return ""
	}
	return "must be an https URL (plain http only to localhost or 127.0.0.1): the URL is the credential"
}

// listenAddrProblem says what is wrong with a QW_LISTEN_ADDR, or "".
func listenAddrProblem(addr string) string {
	if strings.TrimSpace(addr) == "" {
		return "must not be empty"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Sprintf("%q is not host:port (e.g. :8080 or 127.0.0.1:8080)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("%q: the port must be a number from 0 to 65535", addr)
	}
	return ""
}

// AddrProblem says what is wrong with a listen address, or "": the check
// of QW_LISTEN_ADDR, for the commands that take one as a flag (demo and
// fake-helpscout's --addr), so that a bad one is a usage error there too
// rather than a failed listen.
func AddrProblem(addr string) string { return listenAddrProblem(addr) }

// ListenAddr reads QW_LISTEN_ADDR alone, for healthcheck, which needs no
// other variable: a bad one is a *ValidationError (exit code 2), as in
// serve, not a failed probe.
func ListenAddr() (string, error) {
	c, err := Load()
	if err != nil {
		return "", err
	}
	if problem := listenAddrProblem(c.ListenAddr); problem != "" {
		return "", &ValidationError{Problems: []string{Prefix + "_LISTEN_ADDR: " + problem}}
	}
	return c.ListenAddr, nil
}
