package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// demoFlags are the flags of `queuewrangler demo` (design.md section 4).
type demoFlags struct {
	addr  string
	speed float64
	seed  int64
	db    string
}

// simClock runs speed simulated seconds per real second from start, so
// that a working day passes in minutes while every component (fake, mirror,
// balancer) agrees on the time.
func simClock(start time.Time, speed float64) func() time.Time {
	realStart := time.Now()
	return func() time.Time {
		return start.Add(time.Duration(float64(time.Since(realStart)) * speed)).UTC().Truncate(time.Second)
	}
}

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
	fs.Int64Var(&f.seed, "seed", 1, "seed of the simulated account")
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
	d := newDemo(f, dbPath, daemonLn.Addr().String(), fakeLn.Addr().String())
	defer d.fake.Close()

	logger := newLogger("text", "warn", stderr)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = serveUntilDone(ctx, fakeLn, d.fake, logger) })

	base := "http://" + daemonLn.Addr().String()
	fmt.Fprintf(stdout, "queuewrangler demo: a simulated Help Scout account, the real daemon in apply mode\n\n")
	fmt.Fprintf(stdout, "  queue page   %s/\n", base)
	fmt.Fprintf(stdout, "  metrics      %s/metrics\n", base)
	fmt.Fprintf(stdout, "  agents API   %s/api/v1/agents\n", base)
	fmt.Fprintf(stdout, "  admin token  %s   (log in on the page, or: curl -H 'Authorization: Bearer %s' -X POST %s/api/v1/plan)\n", d.cfg.AdminToken.Reveal(), d.cfg.AdminToken.Reveal(), base)
	fmt.Fprintf(stdout, "  fake API     http://%s (client id demo, secret demo-secret)\n", fakeLn.Addr())
	fmt.Fprintf(stdout, "  time runs %gx; Ctrl-C stops\n", f.speed)

	err = runWith(ctx, d.cfg, roster.Default(), daemonLn, logger, d.clock)
	cancel()
	wg.Wait()
	return err
}

type demo struct {
	cfg   *config.Config
	fake  *helpscouttest.Server
	clock func() time.Time
}

func newDemo(f demoFlags, dbPath, daemonAddr, fakeAddr string) *demo {
	clock := simClock(time.Now(), f.speed)
	webhookSecret := randomHex(16)
	fake := helpscouttest.New(helpscouttest.Options{
		Clock:   clock,
		Seed:    f.seed,
		BaseURL: "http://" + fakeAddr,
		Webhook: helpscouttest.WebhookOptions{URL: "http://" + daemonAddr + "/webhooks/helpscout", Secret: webhookSecret},
	})
	// Seeding emits no webhooks; the daemon's first sync picks it all up.
	_, _ = fake.Seed(helpscouttest.GenerateConfig{Seed: f.seed, Conversations: 150, Span: 3 * 24 * time.Hour})
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
		Mode:               config.ModeApply,
		StuckAfter:         config.Duration{Duration: 4 * time.Hour},
		MaxMovesPerRun:     config.Int{N: 5},
		AdminToken:         config.Secret(randomHex(12)),
		RateLimitPerMinute: config.Int{N: 600},
		LogFormat:          "text",
		LogLevel:           "warn",
	}
	return &demo{cfg: cfg, fake: fake, clock: clock}
}
