package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/queuewrangler/queuewrangler/helpscout"
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

func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.EqualFold(format, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// loadConfig reads and validates the environment for a command.
func loadConfig(need config.Requirement) (*config.Config, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(need); err != nil {
		return nil, err
	}
	return cfg, nil
}

func runServe(ctx context.Context, args []string, _, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("serve", stderr), args); err != nil {
		return err
	}
	cfg, ros, err := loadDaemonConfig(config.NeedsHelpScout)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	return run(ctx, cfg, ros, ln, logger)
}

// newHelpScout builds the API client on the outbound chain.
func newHelpScout(cfg *config.Config, m *metrics.Metrics, logger *slog.Logger) (*helpscout.Client, error) {
	httpClient := newHelpScoutHTTPClient(httpOptions{
		BaseURL:      cfg.HelpScoutAPIURL,
		ClientID:     cfg.HelpScoutClientID,
		ClientSecret: cfg.HelpScoutClientSecret.Reveal(),
		PerMinute:    cfg.RateLimitPerMinute.N,
		Metrics:      m,
		Logger:       logger,
	})
	hs, err := helpscout.NewClient(httpClient).WithBaseURL(cfg.HelpScoutAPIURL)
	if err != nil {
		return nil, fmt.Errorf("help scout client: %w", err)
	}
	return hs, nil
}

// run is the daemon: it owns every long-lived goroutine and stops them in
// reverse order of start: HTTP intake first, then the loops, then the store.
func run(ctx context.Context, cfg *config.Config, ros *roster.Roster, ln net.Listener, logger *slog.Logger) error {
	return runWith(ctx, cfg, ros, ln, logger, time.Now)
}

// runWith is run on a given clock. The demo passes the simulation's
// accelerated clock so that waits and cooldowns are measured in the same
// time the simulated team works in.
func runWith(ctx context.Context, cfg *config.Config, ros *roster.Roster, ln net.Listener, logger *slog.Logger, now func() time.Time) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)

	db, err := store.Open(ctx, cfg.DBPath)
	if err != nil {
		ln.Close()
		return fmt.Errorf("open database %s: %w", cfg.DBPath, err)
	}
	defer db.Close()
	db.Now = now

	hs, err := newHelpScout(cfg, m, logger)
	if err != nil {
		ln.Close()
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
	})
	reb := rebalance.New(db, hs, rebalance.Options{
		Mode:       rebalance.Mode(cfg.Mode),
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
	api.Handle("GET /dashboards/queuewrangler.json", staticFile("application/json", metrics.Dashboard))
	api.Handle("GET /alerts.yml", staticFile("application/yaml", metrics.AlertRules))
	srv := newHTTPServer(api, logger)

	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	var loops sync.WaitGroup
	loops.Go(func() { _ = mir.Run(loopCtx, cfg.PollInterval.Duration) })
	if cfg.Mode != config.ModeOff {
		loops.Go(func() { reb.Run(loopCtx, cfg.BalanceInterval.Duration, mir.Ready) })
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("queuewrangler serving", logKeyAddr, ln.Addr().String(), "mode", string(cfg.Mode),
		"poll_interval", cfg.PollInterval.Duration.String(), "db", cfg.DBPath)

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("http shutdown", logKeyErr, err)
	}
	stopLoops()
	loops.Wait()
	return runErr
}

// newHTTPServer bounds every phase of a request so that slow or hostile
// clients cannot hold connections open.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// staticFile serves an embedded file.
func staticFile(contentType string, data []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(data)
	})
}
