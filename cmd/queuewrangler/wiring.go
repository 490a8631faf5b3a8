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
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// loadConfig reads the environment and reports every problem in one error
// (exit code 2): config's own; QW_MODE's, whose values are the
// rebalancer's (config imports nothing from the module); and, for the
// commands that balance, the roster file's.
func loadConfig(need config.Requirement, withRoster bool) (*config.Config, *roster.Roster, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	var problems []string
	var ve *config.ValidationError
	if err := cfg.Validate(need); errors.As(err, &ve) {
		problems = ve.Problems
	} else if err != nil {
		return nil, nil, err
	}
	if _, err := rebalance.ParseMode(cfg.Mode); err != nil {
		problems = append(problems, "QW_MODE: "+err.Error())
	}
	ros := roster.Default()
	if withRoster && cfg.RosterFile != "" {
		var re *roster.Error
		switch loaded, err := roster.Load(cfg.RosterFile); {
		case errors.As(err, &re):
			for _, p := range re.Problems {
				problems = append(problems, "QW_ROSTER_FILE "+cfg.RosterFile+": "+p)
			}
		case err != nil:
			problems = append(problems, "QW_ROSTER_FILE: "+err.Error())
		default:
			ros = loaded
		}
	}
	if len(problems) > 0 {
		return nil, nil, &config.ValidationError{Problems: problems}
	}
	return cfg, ros, nil
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

// serveFake serves a fake Help Scout with the daemon's bounds, leaving
// requests in flight 5 s at the end.
func serveFake(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	return httpapi.Serve(ctx, ln, h, logger, 5*time.Second)
}
