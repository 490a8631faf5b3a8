package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/cli"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// runDemo is `queuewrangler demo`: sim runs the simulated account, the real daemon runs against it.
func runDemo(ctx context.Context, fs *cli.Flags, args []string, stdout, stderr io.Writer) error {
	var o sim.DemoOptions
	o.AddFlags(fs.FlagSet)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := withAddr(o.Addr, o.Validate()); err != nil { // before anything starts, so nothing in --db changes
		return simError("demo", err)
	}
	o.Serve = httpapi.Serve
	return sim.RunDemo(ctx, o, stdout, stderr, func(ctx context.Context, d sim.DemoDaemon) error {
		cfg := config.Defaults()
		cfg.HelpScoutClientID, cfg.HelpScoutClientSecret = d.ClientID, config.Secret(d.ClientSecret)
		cfg.HelpScoutAPIURL, cfg.WebhookSecret = d.APIURL, config.Secret(d.WebhookSecret)
		cfg.DBPath, cfg.AdminToken, cfg.Mode, cfg.Routing = d.DBPath, config.Secret(d.AdminToken), o.Mode, string(d.Routing)
		// Real-time periods: short, so that the demo moves within seconds.
		cfg.PollInterval.Duration, cfg.BalanceInterval.Duration = 10*time.Second, 10*time.Second
		cfg.StuckAfter.Duration, cfg.RateLimitPerMinute.N, cfg.AllowedHosts.Hosts = d.StuckAfter, 600, d.AllowedHosts
		s, problems := parse(cfg, d.Roster)
		if len(problems) > 0 {
			return &config.ValidationError{Problems: problems}
		}
		s.ttl = d.ProposalTTL
		return run(ctx, s, d.Listener, d.Logger, d.Now)
	})
}

// runFakeHelpScout is `queuewrangler fake-helpscout` (the command reference (`queuewrangler -h`)):
// a seeded static account, or with --speed a simulated team working live.
func runFakeHelpScout(ctx context.Context, fs *cli.Flags, args []string, stdout, stderr io.Writer) error {
	var o sim.FakeOptions
	o.AddFlags(fs.FlagSet)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := withAddr(o.Addr, o.Validate()); err != nil {
		return simError("fake-helpscout", err)
	}
	if err := o.Prepare(); err != nil {
		return simError("fake-helpscout", err)
	}
	o.Serve = httpapi.Serve
	return sim.ServeFake(ctx, o, stdout, stderr)
}

// runSimulate is `queuewrangler simulate`: an offline comparison of routing
// policies on one scenario, or with --seeds the suite over several
// scenarios and seeds (the README's Simulation section).
func runSimulate(ctx context.Context, fs *cli.Flags, args []string, stdout, stderr io.Writer) error {
	var c sim.Command
	c.AddFlags(fs.FlagSet)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := c.Prepare(); err != nil {
		return simError("simulate", err)
	}
	return simError("simulate", c.Run(ctx, stdout, stderr))
}

// withAddr adds a bad --addr to the problems the other flags have (err,
// from the options' Validate, every one a usage problem): refused before
// anything starts, with exit code 2, as any other bad flag, instead of by
// the listen (exit code 1).
func withAddr(addr string, err error) error {
	var u *sim.UsageError
	if errors.As(err, &u) {
		err = u.Err
	}
	problem := config.AddrProblem(addr)
	if problem == "" {
		if err == nil {
			return nil
		}
		return &sim.UsageError{Err: err}
	}
	problems := []error{fmt.Errorf("--addr: %s", problem)}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		problems = append(problems, j.Unwrap()...) // listed one by one beside this one, as simError lists them
	} else if err != nil {
		problems = append(problems, err)
	}
	return &sim.UsageError{Err: errors.Join(problems...)}
}

// simError names the command in err and maps sim's usage problems to exit
// code 2; several problems are listed as the configuration's are.
func simError(command string, err error) error {
	if u := (*sim.UsageError)(nil); errors.As(err, &u) {
		if j, ok := u.Err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 1 {
			var b strings.Builder
			for _, p := range j.Unwrap() { // a problem of several lines keeps them, indented under it
				b.WriteString("\n  - " + strings.ReplaceAll(p.Error(), "\n", "\n    "))
			}
			return cli.Usagef("%s:%s", command, b.String())
		}
		return cli.Usagef("%s: %v", command, u)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", command, err)
	}
	return nil
}
