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
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// runDemo is `queuewrangler demo` (design.md section 4): the real daemon in
// apply mode against a simulated account, with no credentials needed.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address of the daemon (page, API, metrics)")
	speed := fs.Float64("speed", 60, "simulated seconds per real second")
	seed := fs.Int64("seed", 0, "seed of the simulated team's customers (default: the scenario's)")
	dbPath := fs.String("db", "", "SQLite file (default: a temporary file removed at exit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *speed <= 0 || *speed > sim.MaxSpeed {
		return usagef("demo: --speed must be above 0 and at most %d, got %g", sim.MaxSpeed, *speed)
	}
	if *dbPath == "" {
		dir, err := os.MkdirTemp("", "queuewrangler-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dbPath = filepath.Join(dir, "queuewrangler.db")
	}
	daemonLn, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another with --addr)", *addr, err)
	}
	defer daemonLn.Close()
	fakeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer fakeLn.Close()
	sc, err := sim.Builtin(sim.DemoScenario)
	if err != nil {
		return err
	}
	if *seed != 0 {
		sc.Seed = *seed
	}
	daemonURL, fakeURL := "http://"+daemonLn.Addr().String(), "http://"+fakeLn.Addr().String()
	cfg := &config.Config{
		HelpScoutClientID:     "demo",
		HelpScoutClientSecret: "demo-secret",
		HelpScoutAPIURL:       fakeURL,
		WebhookSecret:         config.Secret(randomHex(16)),
		DBPath:                *dbPath,
		ListenAddr:            daemonLn.Addr().String(),
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
	acct, err := sim.NewAccount(sc, *speed, helpscouttest.Options{
		Seed:    sc.Seed,
		BaseURL: fakeURL,
		Webhook: helpscouttest.WebhookOptions{URL: daemonURL + "/webhooks/helpscout", Secret: cfg.WebhookSecret.Reveal()},
	})
	if err != nil {
		return err
	}
	defer acct.Close()

	logger := slog.New(demoEvents{slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})})
	// The simulated account outlives the daemon: stopped first, it would
	// leave a move's note retrying against a closed port until its own
	// timeout, and Ctrl-C would seem to hang.
	fakeCtx, stopFake := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFake()
	var wg sync.WaitGroup
	wg.Go(func() { _ = serveUntilDone(fakeCtx, fakeLn, acct.Fake, logger) })
	wg.Go(func() { runTeam(fakeCtx, acct.Team, logger) })

	token := cfg.AdminToken.Reveal()
	fmt.Fprintf(stdout, "queuewrangler demo: a simulated Help Scout account, the real daemon in apply mode\n\n")
	fmt.Fprintf(stdout, "  queue page   %s/\n", daemonURL)
	fmt.Fprintf(stdout, "  metrics      %s/metrics\n", daemonURL)
	fmt.Fprintf(stdout, "  agents API   %s/api/v1/agents\n", daemonURL)
	fmt.Fprintf(stdout, "  admin token  %s   (log in on the page, or: curl -H 'Authorization: Bearer %s' -X POST %s/api/v1/plan)\n", token, token, daemonURL)
	fmt.Fprintf(stdout, "  fake API     %s (client id demo, secret demo-secret)\n", fakeURL)
	fmt.Fprintf(stdout, "  team         %s (seed %d): %s\n", sim.DemoScenario, sc.Seed, acct.Describe())
	fmt.Fprintf(stdout, "  time runs %gx from Monday 09:00 of a simulated week; Ctrl-C stops\n", *speed)

	err = runWith(ctx, cfg, acct.Roster, daemonLn, logger, acct.Now)
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
