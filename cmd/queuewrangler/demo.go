package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// runDemo is `queuewrangler demo` (design.md section 4): sim runs the
// simulated account, and the real daemon runs against it in apply mode.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o sim.DemoOptions
	fs := newFlagSet("demo", stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address of the daemon (page, API, metrics)")
	fs.Float64Var(&o.Speed, "speed", 60, "simulated seconds per real second")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the simulated team's customers (default: the scenario's)")
	fs.StringVar(&o.DB, "db", "", "SQLite file (default: a temporary file removed at exit)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if o.Speed <= 0 || o.Speed > sim.MaxSpeed {
		return usagef("demo: --speed must be above 0 and at most %d, got %g", sim.MaxSpeed, o.Speed)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another with --addr)", *addr, err)
	}
	defer ln.Close()
	o.Listener, o.Serve = ln, serveFake
	return sim.RunDemo(ctx, o, stdout, stderr, func(ctx context.Context, d sim.DemoDaemon) error {
		cfg := &config.Config{
			HelpScoutClientID:     d.ClientID,
			HelpScoutClientSecret: config.Secret(d.ClientSecret),
			HelpScoutAPIURL:       d.APIURL,
			WebhookSecret:         config.Secret(d.WebhookSecret),
			DBPath:                d.DBPath,
			ListenAddr:            d.Listener.Addr().String(),
			// Real-time periods: short, so that the demo moves within seconds.
			PollInterval:       config.Duration{Duration: 10 * time.Second},
			BalanceInterval:    config.Duration{Duration: 10 * time.Second},
			Mode:               string(rebalance.ModeApply),
			StuckAfter:         config.Duration{Duration: d.StuckAfter},
			MaxMovesPerRun:     config.Int{N: 5},
			AdminToken:         config.Secret(d.AdminToken),
			RateLimitPerMinute: config.Int{N: 600},
			LogFormat:          "text",
			LogLevel:           "warn",
		}
		return run(ctx, cfg, d.Roster, d.Listener, d.Logger, d.Now)
	})
}
