package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// demoFlags are the flags of `queuewrangler demo` (design.md section 4).
type demoFlags struct {
	addr  string
	speed float64
	seed  int64
	db    string
}

// demoScenario is the simulated team the demo runs.
const demoScenario = "small-team-week"

// demoWarmUp starts the demo at Monday 09:00 of the simulated week, with the
// night's arrivals already waiting, so that there is work to balance at once.
const demoWarmUp = 9 * time.Hour

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f demoFlags
	fs := newFlagSet("demo", stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen address of the daemon (page, API, metrics)")
	fs.Float64Var(&f.speed, "speed", 60, "simulated seconds per real second")
	fs.Int64Var(&f.seed, "seed", 0, "seed of the simulated team's customers (default: the scenario's)")
	fs.StringVar(&f.db, "db", "", "SQLite file (default: a temporary file removed at exit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.speed <= 0 || f.speed > 3600 {
		return usagef("demo: --speed must be above 0 and at most 3600, got %g", f.speed)
	}
	dbPath := f.db
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "queuewrangler-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "queuewrangler.db")
	}
	daemonLn, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another with --addr)", f.addr, err)
	}
	fakeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		daemonLn.Close()
		return err
	}
	d, err := newDemo(f, dbPath, daemonLn.Addr().String(), fakeLn.Addr().String())
	if err != nil {
		daemonLn.Close()
		fakeLn.Close()
		return err
	}
	defer d.fake.Close()

	logger := slog.New(demoEvents{slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})})
	// The simulated account outlives the daemon: stopped first, it would
	// leave a move's note retrying against a closed port until its own
	// timeout, and Ctrl-C would seem to hang.
	fakeCtx, stopFake := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFake()
	var wg sync.WaitGroup
	wg.Go(func() { _ = serveUntilDone(fakeCtx, fakeLn, d.fake, logger) })
	wg.Go(func() {
		if err := d.live.Run(fakeCtx); err != nil {
			logger.Error("the simulated team stopped", "err", err)
		}
	})

	base := "http://" + daemonLn.Addr().String()
	fmt.Fprintf(stdout, "queuewrangler demo: a simulated Help Scout account, the real daemon in apply mode\n\n")
	fmt.Fprintf(stdout, "  queue page   %s/\n", base)
	fmt.Fprintf(stdout, "  metrics      %s/metrics\n", base)
	fmt.Fprintf(stdout, "  agents API   %s/api/v1/agents\n", base)
	fmt.Fprintf(stdout, "  admin token  %s   (log in on the page, or: curl -H 'Authorization: Bearer %s' -X POST %s/api/v1/plan)\n", d.cfg.AdminToken.Reveal(), d.cfg.AdminToken.Reveal(), base)
	fmt.Fprintf(stdout, "  fake API     http://%s (client id demo, secret demo-secret)\n", fakeLn.Addr())
	fmt.Fprintf(stdout, "  team         %s (seed %d): %s\n", demoScenario, d.seed, d.team)
	fmt.Fprintf(stdout, "  time runs %gx from Monday 09:00 of a simulated week; Ctrl-C stops\n", f.speed)

	err = runWith(ctx, d.cfg, d.roster, daemonLn, logger, d.clock)
	stopFake()
	wg.Wait()
	return err
}

// demoEvents shows what a newcomer wants to watch in the terminal: every
// move the daemon makes or skips, and any problem. The rest of the
// daemon's info lines (each sync, each run) would bury them.
type demoEvents struct{ slog.Handler }

// demoShown are the info messages demoEvents lets through.
var demoShown = map[string]bool{"move applied": true, "move skipped: stale": true, "stopped": true}

func (h demoEvents) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn && !demoShown[r.Message] {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h demoEvents) WithAttrs(as []slog.Attr) slog.Handler {
	return demoEvents{h.Handler.WithAttrs(as)}
}

func (h demoEvents) WithGroup(name string) slog.Handler { return demoEvents{h.Handler.WithGroup(name)} }

type demo struct {
	cfg    *config.Config
	roster *roster.Roster
	fake   *helpscouttest.Server
	live   *sim.Live
	clock  func() time.Time
	seed   int64
	team   string
}

// newLiveFake starts the simulated team of a scenario on a fake Help Scout:
// the fake stamps data with the simulation's clock and the team writes
// conversations, replies and closes through the fake's state API, which
// emits signed webhooks like Help Scout.
func newLiveFake(sc sim.Scenario, speed float64, opts helpscouttest.Options) (*helpscouttest.Server, *sim.Live, func() time.Time, error) {
	clock := sim.NewClock(sc, speed, demoWarmUp, nil)
	opts.Clock = clock.Now
	fake := helpscouttest.New(opts)
	live, err := sim.NewLive(sc, fake, clock, sim.LiveOptions{})
	if err != nil {
		fake.Close()
		return nil, nil, nil, fmt.Errorf("start the simulated team: %w", err)
	}
	return fake, live, clock.Now, nil
}

func newDemo(f demoFlags, dbPath, daemonAddr, fakeAddr string) (*demo, error) {
	sc, err := sim.Builtin(demoScenario)
	if err != nil {
		return nil, err
	}
	if f.seed != 0 {
		sc.Seed = f.seed
	}
	webhookSecret := randomHex(16)
	fake, live, clock, err := newLiveFake(sc, f.speed, helpscouttest.Options{
		Seed:    sc.Seed,
		BaseURL: "http://" + fakeAddr,
		Webhook: helpscouttest.WebhookOptions{URL: "http://" + daemonAddr + "/webhooks/helpscout", Secret: webhookSecret},
	})
	if err != nil {
		return nil, err
	}
	ros, err := live.Roster()
	if err != nil {
		fake.Close()
		return nil, fmt.Errorf("the simulated team's roster: %w", err)
	}
	var names []string
	for _, m := range sc.Team {
		names = append(names, fmt.Sprintf("%s (%s, level %d)", m.Name, m.Role, m.Level))
	}
	cfg := &config.Config{
		HelpScoutClientID:     "demo",
		HelpScoutClientSecret: "demo-secret",
		HelpScoutAPIURL:       "http://" + fakeAddr,
		WebhookSecret:         config.Secret(webhookSecret),
		DBPath:                dbPath,
		ListenAddr:            daemonAddr,
		// Real-time periods: short, so that the demo moves within seconds.
		PollInterval:       config.Duration{Duration: 10 * time.Second},
		BalanceInterval:    config.Duration{Duration: 10 * time.Second},
		Mode:               string(rebalance.ModeApply),
		StuckAfter:         config.Duration{Duration: sc.StuckAfter},
		MaxMovesPerRun:     config.Int{N: 5},
		AdminToken:         config.Secret(randomHex(12)),
		RateLimitPerMinute: config.Int{N: 600},
		LogFormat:          "text",
		LogLevel:           "warn",
	}
	return &demo{cfg: cfg, roster: ros, fake: fake, live: live, clock: clock, seed: sc.Seed, team: strings.Join(names, ", ")}, nil
}
