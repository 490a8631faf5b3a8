package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/cli"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/outbound"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/version"
	"github.com/queuewrangler/queuewrangler/metrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes, the command reference (`queuewrangler -h`).
const (
	exitOK      = cli.ExitOK
	exitFailure = cli.ExitFailure
	exitUsage   = cli.ExitUsage
)

// commands is the command table; About, where set, is design.md's fuller account for the command's -h.
func commands() []cli.Command {
	return []cli.Command{
		{Name: "demo", Summary: "the whole product on a simulated Help Scout account, no credentials needed", Run: runDemo,
			About: "the whole product, no credentials needed: a simulated Help Scout account (the fake API and a simulated team " +
				"working tickets in accelerated time) on loopback, and the real daemon pointed at it over HTTP with signed webhooks. " +
				"Prints the URLs of the queue page, /metrics and the API."},
		{Name: "serve", Summary: "run the daemon: poll and webhooks, the balancer, the queue page and API, metrics, health (configured by QW_ variables)",
			ReadsEnv: true, Run: runServe},
		{Name: "check", Summary: "test the configuration and roster before a restart: what serve would run with, or every problem (exit 2)",
			ReadsEnv: true, Run: runCheck,
			About: "reads the QW_ variables and the roster file exactly as serve does, and who wrote QW_DB_PATH without creating or changing it, " +
				"without calling Help Scout, and prints what serve would run with, or every problem serve would refuse to start over (exit code 2). " +
				"Run it after editing the roster, before the restart. It also refuses a QW_DB_PATH on a file system mounted read-only, " +
				"which serve waits on (it may be remounted) rather than refuses."},
		{Name: "sync", Summary: "one full or incremental sync into the SQLite file, then exit", ReadsEnv: true, Run: runSync,
			About: "one full or incremental sync of Help Scout into the SQLite file (QW_DB_PATH), then exit; prints what it stored. " +
				"Refused beside a running daemon, whose polling does the same."},
		{Name: "plan", Summary: "compute proposals from the mirror and print them (--json); changes nothing", ReadsEnv: true, Run: runPlan,
			About: "compute the proposals a balancer run would make from the mirror (QW_DB_PATH, read-only, beside a running daemon) " +
				"and print them as a table (--json for JSON); changes nothing in Help Scout."},
		{Name: "backfill", Summary: "write the response-time histograms' history as OpenMetrics text for promtool (--since 90d)", ReadsEnv: true, Run: runBackfill,
			About: "write the response-time histograms' history from the mirror (QW_DB_PATH, read-only, beside a running daemon) " +
				"as OpenMetrics text for promtool, with the office-hours histograms when QW_OFFICE_HOURS is set."},
		{Name: "fake-helpscout", Summary: "serve a simulated Help Scout account (no credentials needed)", Run: runFakeHelpScout,
			About: "serve a simulated Help Scout account alone, for trying serve (or any Help Scout client) without a real account; " +
				"prints its base URL and credentials."},
		{Name: "simulate", Summary: "offline: compare routing policies on a simulated team (--scenario, --policies, --json)", Run: runSimulate,
			About: "offline: run a scenario (--scenario, a built-in name or a JSON file) under several policies (--policies) " +
				"and print the comparison table (--json for JSON)."},
		{Name: "healthcheck", Summary: "probe /readyz of the daemon at QW_LISTEN_ADDR: exit 0 when ready (for a container HEALTHCHECK)", ReadsEnv: true, Run: runHealthcheck},
		{Name: "version", Summary: "print version, commit and Go version", Run: runVersion},
		{Name: "help", Summary: "show this help"},
	}
}

// Main runs the command named by args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	intro := "queuewrangler gets a Help Scout team's customers answered sooner, and keeps the team's load fair." // as README.md opens
	return cli.Program{Name: "queuewrangler", Intro: intro, Commands: commands()}.Main(ctx, args, stdout, stderr)
}

func runVersion(_ context.Context, fs *cli.Flags, args []string, stdout, _ io.Writer) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return version.Write(stdout)
}

// runHealthcheck is `queuewrangler healthcheck`, the container's probe (no
// curl in distroless): /readyz of the daemon at QW_LISTEN_ADDR (":8080" is
// 127.0.0.1:8080); exit 0 ready, 1 with the reason, 2 for a bad address.
func runHealthcheck(ctx context.Context, fs *cli.Flags, args []string, stdout, _ io.Writer) error {
	addr := fs.String("addr", "", "the daemon's listen address (default: QW_LISTEN_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *addr == "" {
		var err error
		if *addr, err = config.ListenAddr(); err != nil {
			return err
		}
	}
	if err := httpapi.Probe(ctx, http.DefaultClient, *addr, *timeout); err != nil {
		return err
	}
	_, err := fmt.Fprintln(stdout, "ready")
	return err
}

// settings is the configuration with every value parsed once: config's own and those whose
// syntax belongs to other packages (config imports nothing from the module).
type settings struct {
	*config.Config
	roster  *roster.Roster
	mode    rebalance.Mode
	routing balancer.RoutingMode
	office  roster.OfficeHours
	policy  balancer.Policy
	ttl     time.Duration // proposals' expiry; 0 = rebalance's default (the demo's is in real time)
}

// loadConfig reads the environment and reports every problem in one error
// (exit code 2): config's own, those of the values parse reads, the
// database file's when the configuration is refused anyway
// (databaseProblem) and, for the commands that balance, the roster file's.
func loadConfig(ctx context.Context, need config.Requirement, withRoster bool) (*settings, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	var problems []string
	var ve *config.ValidationError
	if errors.As(cfg.Validate(need), &ve) { // Validate returns nothing else
		problems = ve.Problems
	}
	s, more := parse(cfg, roster.Default()) // the variables' problems first, then the files'
	problems = append(problems, more...)
	var rosterProblems []string
	if withRoster && cfg.RosterFile != "" {
		var loaded *roster.Roster
		loaded, rosterProblems = roster.LoadChecked(cfg.RosterFile, "QW_ROSTER_FILE")
		s.roster = cmp.Or(loaded, s.roster)
	}
	if len(problems)+len(rosterProblems) > 0 {
		problems = append(problems, databaseProblem(ctx, cfg.DBPath, problems)...)
		return nil, &config.ValidationError{Problems: append(problems, rosterProblems...)}
	}
	return s, nil
}

// databaseProblem is, for a configuration refused over other problems,
// what the command would refuse QW_DB_PATH over once they are fixed
// (store.Inspect: another program's file, a newer queuewrangler's; exit
// code 2 too), so that one message names every problem, as design.md
// says, rather than the file's only at the next try. A damaged file or a
// different build's (exit code 1) is not a configuration problem and is
// said when opened; nothing is read when the path itself is among the
// problems.
func databaseProblem(ctx context.Context, path string, problems []string) []string {
	if slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, "QW_DB_PATH") }) {
		return nil
	}
	_, err := store.Inspect(ctx, path)
	if err == nil {
		return nil
	}
	var usage *cli.UsageError
	if err = openError(path, err); !errors.As(err, &usage) {
		return nil
	}
	return []string{err.Error()}
}

// parse reads the values whose syntax is another package's, and applies
// the balancing knobs to the default policy; it returns a problem for each
// value that does not parse.
func parse(cfg *config.Config, ros *roster.Roster) (*settings, []string) {
	s := &settings{Config: cfg, roster: ros, policy: balancer.DefaultPolicy()}
	var problems []string
	check := func(key string, err error) {
		if err != nil {
			problems = append(problems, "QW_"+key+": "+err.Error())
		}
	}
	var err error
	s.mode, err = rebalance.ParseMode(cfg.Mode)
	check("MODE", err)
	s.routing, err = balancer.ParseRoutingMode(cfg.Routing)
	check("ROUTING", err)
	s.policy.HandOverOngoing, err = balancer.ParseHandover(cfg.OffShiftHandover)
	check("OFF_SHIFT_HANDOVER", err)
	s.policy.Backlog, err = balancer.ParseBacklog(cfg.Backlog)
	check("BACKLOG", err)
	s.office, err = roster.ParseOfficeHours(cfg.OfficeHours)
	check("OFFICE_HOURS", err)
	s.policy.StuckAfter = cfg.StuckAfter.Duration
	s.policy.MaxMovesPerRun = cfg.MaxMovesPerRun.N
	return s, problems
}

// newHelpScout builds the API client on the outbound chain.
func newHelpScout(cfg *config.Config, m *metrics.Instruments, failures *outbound.Failures, logger *slog.Logger) (*helpscout.Client, error) {
	httpClient := outbound.NewClient(outbound.Options{BaseURL: cfg.HelpScoutAPIURL, ClientID: cfg.HelpScoutClientID,
		ClientSecret: cfg.HelpScoutClientSecret.Reveal(), PerMinute: cfg.RateLimitPerMinute.N, Metrics: m, Logger: logger,
		Redact: []string{cfg.WebhookSecret.Reveal(), cfg.AdminToken.Reveal(), cfg.SlackWebhookURL.Reveal()}, Failures: failures})
	hs, err := helpscout.NewClient(httpClient).WithBaseURL(cfg.HelpScoutAPIURL)
	if err != nil {
		return nil, fmt.Errorf("help scout client: %w", err)
	}
	return hs, nil
}

// openError says what to do about a database that cannot be opened (the
// file is left as it was): another program's file, and one of a newer
// schema, are configuration errors (exit code 2); one another
// queuewrangler holds, a damaged one and a mirror not synced yet each get
// their advice (exit code 1).
func openError(path string, err error) error {
	switch {
	case errors.Is(err, store.ErrForeignDatabase):
		return cli.Usagef("QW_DB_PATH: %v (point it at queuewrangler's own file, or at one that does not exist yet)", err)
	case errors.Is(err, store.ErrSchemaTooNew):
		// Like another program's file: the image or the path is to
		// change, and no retry or restart of this binary fixes it; check
		// finds it before a start (store.Inspect) and says the same.
		return cli.Usagef("QW_DB_PATH: %v", store.Advise(path, err))
	}
	return store.Advise(path, err)
}
