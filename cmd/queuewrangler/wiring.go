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
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/outbound"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/sim"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// readConfig reads the environment and lists its problems: config's own,
// and QW_MODE's, whose values are the rebalancer's (config may import
// nothing from the module, and rebalance reads no configuration).
func readConfig(need config.Requirement) (*config.Config, []string, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	var problems []string
	var ve *config.ValidationError
	if err := cfg.Validate(need); errors.As(err, &ve) {
		problems = append(problems, ve.Problems...)
	} else if err != nil {
		return nil, nil, err
	}
	if _, err := rebalance.ParseMode(cfg.Mode); err != nil {
		problems = append(problems, "QW_MODE: "+err.Error())
	}
	return cfg, problems, nil
}

// loadConfig reads and validates the environment for a command that does
// not balance, reporting every problem in one error (exit code 2).
func loadConfig(need config.Requirement) (*config.Config, error) {
	cfg, problems, err := readConfig(need)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &config.ValidationError{Problems: problems}
	}
	return cfg, nil
}

// loadDaemonConfig reads the environment and the roster it names, and
// reports every problem of both in one error (exit code 2).
func loadDaemonConfig(need config.Requirement) (*config.Config, *roster.Roster, error) {
	cfg, problems, err := readConfig(need)
	if err != nil {
		return nil, nil, err
	}
	r := roster.Default()
	if cfg.RosterFile != "" {
		loaded, err := roster.Load(cfg.RosterFile)
		var re *roster.Error
		switch {
		case errors.As(err, &re):
			for _, p := range re.Problems {
				problems = append(problems, "QW_ROSTER_FILE "+cfg.RosterFile+": "+p)
			}
		case err != nil:
			problems = append(problems, "QW_ROSTER_FILE: "+err.Error())
		default:
			r = loaded
		}
	}
	if len(problems) > 0 {
		return nil, nil, &config.ValidationError{Problems: problems}
	}
	return cfg, r, nil
}

// policyFrom applies the configured knobs to the default policy.
func policyFrom(cfg *config.Config) balancer.Policy {
	p := balancer.DefaultPolicy()
	p.StuckAfter = cfg.StuckAfter.Duration
	p.MaxMovesPerRun = cfg.MaxMovesPerRun.N
	p.HandOverOngoing = cfg.OffShiftHandover == config.HandoverAll
	return p
}

// apiAdapter presents the rebalancer to httpapi: its team (Agents),
// Approve and Reject are httpapi's interfaces as they are; only planning
// on demand returns the stored proposals alone.
type apiAdapter struct{ *rebalance.Rebalancer }

func (a apiAdapter) PlanNow(ctx context.Context) ([]store.Proposal, error) {
	plan, err := a.RunOnce(ctx)
	return plan.Proposals, err
}

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

// newHelpScout builds the API client on the outbound chain.
func newHelpScout(cfg *config.Config, m *metrics.Instruments, logger *slog.Logger) (*helpscout.Client, error) {
	httpClient := outbound.NewClient(outbound.Options{
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

// serveUntilDone serves h on ln until ctx ends, then shuts down gracefully.
func serveUntilDone(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := httpapi.NewHTTPServer(h, logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// runTeam plays a simulated team until ctx ends.
func runTeam(ctx context.Context, team *sim.Live, logger *slog.Logger) {
	if err := team.Run(ctx); err != nil {
		logger.Error("the simulated team stopped", "err", err)
	}
}
