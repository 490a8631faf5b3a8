package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// Log attribute keys used by more than one component.
const (
	logKeyAddr = "addr"
	logKeyErr  = "err"
)

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("serve", stderr), args); err != nil {
		return err
	}
	cfg, ros, err := loadConfig(config.NeedsHelpScout, true)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	return run(ctx, cfg, ros, ln, logger, time.Now)
}

// run is the daemon: it owns every long-lived goroutine and stops them in
// reverse order of start: HTTP intake first, then the loops, then the
// store. now is its clock: time.Now, or for the demo the simulation's
// accelerated clock, so that waits and cooldowns are measured in the time
// the simulated team works in.
func run(ctx context.Context, cfg *config.Config, ros *roster.Roster, ln net.Listener, logger *slog.Logger, now func() time.Time) error {
	mode, err := rebalance.ParseMode(cfg.Mode)
	if err != nil {
		return fmt.Errorf("QW_MODE: %w", err)
	}
	reg := metrics.NewRegistry()
	m := metrics.NewInstruments(reg)

	// Serve at once: while the database cannot be opened (a read-only or
	// full disk), /healthz answers 200 and /readyz 503 with the reason, and
	// the daemon keeps retrying instead of exiting into a crash loop.
	gate := httpapi.NewGate("the database is not open yet")
	srv := httpapi.NewHTTPServer(gate, logger)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	shutdown := func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("http shutdown", logKeyErr, err)
		}
	}

	if !store.LocksSupported {
		logger.Warn("this system has no file lock: nothing stops a second daemon on the same database", "db", cfg.DBPath)
	}
	db, err := store.OpenPatiently(ctx, cfg.DBPath, "serve", func(err error, wait time.Duration) {
		reason := "the database cannot be opened; see the log"
		if errors.Is(err, store.ErrReadOnly) || errors.Is(err, store.ErrFull) {
			reason = "the database cannot take writes (disk full or read-only); see the log"
		}
		gate.NotReady(reason)
		logger.Error("open database; retrying", "db", cfg.DBPath, logKeyErr, err, "retry_in", wait.String())
	})
	if err != nil {
		shutdown()
		if ctx.Err() != nil {
			return nil // stopped while waiting for the database
		}
		if final := finalStoreError(cfg.DBPath, err); final != nil {
			return final
		}
		return err
	}
	defer db.Close()
	db.Now = now

	hs, err := newHelpScout(cfg, m, logger)
	if err != nil {
		shutdown()
		return err
	}
	mir := mirror.New(hs, db, mirror.Options{
		Mailboxes: cfg.Mailboxes.IDs,
		Logger:    logger.With("component", "mirror"),
		Metrics:   m,
		Now:       now,
	})

	webhookSecret := cfg.WebhookSecret.Reveal()
	if webhookSecret == "" {
		logger.Warn("webhooks disabled: QW_HELPSCOUT_WEBHOOK_SECRET is empty; POST /webhooks/helpscout answers 404 and changes arrive by polling only")
	}
	api := httpapi.New(httpapi.Options{
		Logger:          logger.With("component", "http"),
		Metrics:         m,
		Gatherer:        reg,
		WebhookSecret:   webhookSecret,
		Inbox:           db,
		WebhookReceived: mir.Wake,
		Ready:           mir.Ready,
		Now:             now,
		Dashboard:       metrics.Dashboard,
		AlertRules:      metrics.AlertRules,
	})
	reb := rebalance.New(db, hs, rebalance.Options{
		Mode:       mode,
		Policy:     policyFrom(cfg),
		Roster:     ros,
		AfterApply: mir.Refresh,
		Logger:     logger.With("component", "balancer"),
		Metrics:    m,
		Now:        now,
	})
	reg.MustRegister(metrics.NewCollector(reb, metrics.CollectorOptions{OnError: func(err error) { logger.Warn("metrics collector", logKeyErr, err) }}))
	adapter := apiAdapter{reb}
	api.EnableAPI(httpapi.APIOptions{
		Team:       adapter,
		Queue:      db,
		Decider:    adapter,
		AdminToken: cfg.AdminToken.Reveal(),
		StuckAfter: cfg.StuckAfter.Duration,
	})
	api.EnablePage(httpapi.PageOptions{
		Team:           adapter,
		Queue:          db,
		Decider:        adapter,
		Customers:      db,
		FirstResponses: db,
		AdminToken:     cfg.AdminToken.Reveal(),
		StuckAfter:     cfg.StuckAfter.Duration,
	})
	gate.Open(api)

	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	var loops sync.WaitGroup
	loops.Go(func() { _ = mir.Run(loopCtx, cfg.PollInterval.Duration) })
	if mode != rebalance.ModeOff {
		loops.Go(func() { reb.Run(loopCtx, cfg.BalanceInterval.Duration, mir.Ready) })
	}

	logger.Info("queuewrangler serving", logKeyAddr, ln.Addr().String(), "mode", string(mode),
		"poll_interval", cfg.PollInterval.Duration.String(), "db", cfg.DBPath)

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	shutdown()
	stopLoops()
	loops.Wait()
	logger.Info("stopped")
	return runErr
}
