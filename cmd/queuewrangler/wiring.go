package main

import (
	"context"
	"errors"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// loadDaemonConfig reads the environment and the roster it names, and
// reports every problem of both in one error (exit code 2).
func loadDaemonConfig(need config.Requirement) (*config.Config, *roster.Roster, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, nil, err
	}
	var problems []string
	verr := cfg.Validate(need)
	var ve *config.ValidationError
	if errors.As(verr, &ve) {
		problems = append(problems, ve.Problems...)
	} else if verr != nil {
		return nil, nil, verr
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
