package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// runFakeHelpScout is `queuewrangler fake-helpscout` (design.md section 4):
// a seeded static account, or with --speed a simulated team working live.
func runFakeHelpScout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opts helpscouttest.Options
	var conversations int
	var speed float64
	var scenario string
	fs := newFlagSet("fake-helpscout", stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	fs.StringVar(&opts.ClientID, "client-id", "demo", "OAuth2 client id the fake accepts")
	fs.StringVar(&opts.ClientSecret, "client-secret", "demo-secret", "OAuth2 client secret the fake accepts")
	fs.Int64Var(&opts.Seed, "seed", 1, "seed of the generated account")
	fs.IntVar(&conversations, "conversations", 200, "number of conversations to generate")
	fs.IntVar(&opts.RateLimitPerMinute, "rate-limit", 0, "requests per minute before 429 (writes count 2); 0 = no limit")
	fs.StringVar(&opts.Webhook.URL, "webhook-url", "", "deliver signed webhooks to this URL")
	fs.StringVar(&opts.Webhook.Secret, "webhook-secret", "", "secret to sign webhooks with (needed with --webhook-url)")
	fs.Float64Var(&speed, "speed", 0, "run a simulated team live at this many simulated seconds per real second; 0 = a static seeded account")
	fs.StringVar(&scenario, "scenario", "", "scenario file or built-in name for the live team (default "+sim.DemoScenario+" when --speed is set)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var problems []error
	if conversations < 0 {
		problems = append(problems, errors.New("--conversations must not be negative"))
	}
	if opts.RateLimitPerMinute < 0 {
		problems = append(problems, errors.New("--rate-limit must not be negative"))
	}
	if (opts.Webhook.URL == "") != (opts.Webhook.Secret == "") {
		problems = append(problems, errors.New("--webhook-url and --webhook-secret go together"))
	}
	if speed < 0 || speed > sim.MaxSpeed {
		problems = append(problems, fmt.Errorf("--speed must be between 0 and %d", sim.MaxSpeed))
	}
	if scenario != "" && speed == 0 {
		problems = append(problems, errors.New("--scenario needs --speed (the scenario runs live)"))
	}
	if len(opts.Webhook.Secret) > 40 {
		problems = append(problems, errors.New("--webhook-secret is longer than Help Scout's 40 characters"))
	}
	if len(problems) > 0 {
		return usagef("fake-helpscout: %v", errors.Join(problems...))
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	opts.BaseURL = base
	var (
		fake    *helpscouttest.Server
		team    *sim.Live
		summary string
	)
	if speed > 0 {
		name := cmp.Or(scenario, sim.DemoScenario)
		sc, err := sim.LoadScenario(name)
		if err != nil {
			return usagef("fake-helpscout: %v", err)
		}
		acct, err := sim.NewAccount(sc, speed, opts)
		if err != nil {
			return err
		}
		fake, team = acct.Fake, acct.Team
		summary = fmt.Sprintf("a live simulated team (%s, %d people) at %gx", name, len(sc.Team), speed)
	} else {
		fake = helpscouttest.New(opts)
		acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: opts.Seed, Conversations: conversations})
		if err != nil {
			fake.Close()
			return fmt.Errorf("generate account: %w", err)
		}
		summary = fmt.Sprintf("%d conversations, %d mailboxes, %d agents, %d teams (seed %d)",
			len(acct.Conversations), len(acct.Mailboxes), len(acct.Agents), len(acct.Teams), opts.Seed)
	}
	defer fake.Close()
	fmt.Fprintf(stdout, "fake Help Scout serving at %s\n", base)
	fmt.Fprintf(stdout, "  client id:     %s\n  client secret: %s\n", opts.ClientID, opts.ClientSecret)
	fmt.Fprintf(stdout, "  account:       %s\n", summary)
	fmt.Fprintf(stdout, "try: curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s %s/v2/oauth2/token\n",
		opts.ClientID, opts.ClientSecret, base)
	fmt.Fprintf(stdout, "run the daemon against it:\n  QW_HELPSCOUT_API_URL=%s QW_HELPSCOUT_CLIENT_ID=%s QW_HELPSCOUT_CLIENT_SECRET=%s queuewrangler serve\n",
		base, opts.ClientID, opts.ClientSecret)
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if team != nil {
		wg.Go(func() { runTeam(ctx, team, logger) })
	}
	err = serveUntilDone(ctx, ln, fake, logger)
	cancel()
	wg.Wait()
	return err
}
