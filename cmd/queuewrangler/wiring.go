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
