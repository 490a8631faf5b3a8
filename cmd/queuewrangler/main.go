package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
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
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is bad usage: wrong flags, unknown command, bad input files.
type usageError struct{ error }

func usagef(format string, args ...any) error { return &usageError{fmt.Errorf(format, args...)} }

// command is one subcommand. run receives the arguments after its name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "the whole product on a simulated Help Scout account, no credentials needed", runDemo},
		{"serve", "run the daemon: poll and webhooks, the balancer, the queue page and API, metrics, health (configured by QW_ variables)", runServe},
		{"sync", "one full or incremental sync into the SQLite file, then exit", runSync},
		{"plan", "compute proposals from the mirror and print them (--json); changes nothing", runPlan},
		{"backfill", "write the response-time histograms' history as OpenMetrics text for promtool (--since 90d)", runBackfill},
		{"fake-helpscout", "serve a simulated Help Scout account (no credentials needed)", runFakeHelpScout},
		{"simulate", "offline: compare routing policies on a simulated team (--scenario, --policies, --json)", runSimulate},
		{"healthcheck", "probe /readyz of the daemon at QW_LISTEN_ADDR: exit 0 when ready (for a container HEALTHCHECK)", runHealthcheck},
		{"version", "print version, commit and Go version", runVersion},
		{"help", "show this help", nil},
	}
}

// Main runs the command named by args and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		printHelp(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return exitCode(c.run(ctx, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "queuewrangler: unknown command %q\n\n", name)
	printHelp(stderr)
	return exitUsage
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "queuewrangler: %v\n", err)
	var u *usageError
	if errors.As(err, &u) || config.IsValidation(err) {
		return exitUsage
	}
	return exitFailure
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "queuewrangler gets a Help Scout team's customers answered sooner, and keeps the team's load fair.") // as README.md opens
	fmt.Fprintln(w, "\nUsage: queuewrangler <command> [flags]   (queuewrangler <command> -h for its flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-15s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEnvironment (serve, sync, plan, backfill):")
	if err := config.PrintUsage(w); err != nil {
		fmt.Fprintf(w, "  (cannot list variables: %v)\n", err)
	}
	fmt.Fprintln(w, "\nExit codes: 0 success, 1 runtime failure, 2 bad usage or invalid configuration.")
}

// newFlagSet returns a flag set that reports errors instead of exiting, so
// Main maps them to exit code 2.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintf(fs.Output(), "Usage: queuewrangler %s [flags]\n\nFlags:\n", name)
			fs.PrintDefaults()
		} else {
			fmt.Fprintf(fs.Output(), "Usage: queuewrangler %s\n", name)
		}
		switch name {
		case "serve", "sync", "plan", "backfill":
			fmt.Fprintln(fs.Output(), "\nEnvironment (the variables it reads, with their defaults):")
			if err := config.PrintUsage(fs.Output()); err != nil {
				fmt.Fprintf(fs.Output(), "  (cannot list variables: %v)\n", err)
			}
		}
	}
	return fs
}

// parseFlags parses args and turns a flag error into a usage error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return err
	case err != nil:
		return usagef("%s: %v", fs.Name(), err)
	case fs.NArg() > 0:
		return usagef("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	return nil
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("version", stderr), args); err != nil {
		return err
	}
	return version.Write(stdout)
}

// runHealthcheck is `queuewrangler healthcheck`, the container's probe (no
// curl in distroless): /readyz of the daemon at QW_LISTEN_ADDR (":8080" is
// 127.0.0.1:8080); exit 0 ready, 1 with the reason, 2 for a bad address.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("healthcheck", stderr)
	addr := fs.String("addr", "", "the daemon's listen address (default: QW_LISTEN_ADDR)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
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
// (exit code 2): config's own, those of the values parse reads and, for the
// commands that balance, the roster file's.
func loadConfig(need config.Requirement, withRoster bool) (*settings, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	var problems []string
	var ve *config.ValidationError
	if errors.As(cfg.Validate(need), &ve) { // Validate returns nothing else
		problems = ve.Problems
	}
	s, more := parse(cfg, roster.Default()) // the variables' problems first, then the file's
	problems = append(problems, more...)
	if withRoster && cfg.RosterFile != "" {
		loaded, rosterProblems := roster.LoadChecked(cfg.RosterFile, "QW_ROSTER_FILE")
		problems = append(problems, rosterProblems...)
		s.roster = cmp.Or(loaded, s.roster)
	}
	if len(problems) > 0 {
		return nil, &config.ValidationError{Problems: problems}
	}
	return s, nil
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
// file is left as it was): another program's file is a configuration error
// (exit code 2); one another queuewrangler holds, one of a newer schema and
// a mirror not synced yet each get their advice (exit code 1).
func openError(path string, err error) error {
	if errors.Is(err, store.ErrForeignDatabase) {
		return usagef("QW_DB_PATH: %v (point it at queuewrangler's own file, or at one that does not exist yet)", err)
	}
	return store.Advise(path, err)
}
