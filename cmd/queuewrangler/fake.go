package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// runFakeHelpScout is `queuewrangler fake-helpscout` (design.md section 4):
// a seeded static account, or with --speed a simulated team working live.
func runFakeHelpScout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o sim.FakeOptions
	fs := newFlagSet("fake-helpscout", stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "listen address")
	fs.StringVar(&o.Fake.ClientID, "client-id", "demo", "OAuth2 client id the fake accepts")
	fs.StringVar(&o.Fake.ClientSecret, "client-secret", "demo-secret", "OAuth2 client secret the fake accepts")
	fs.Int64Var(&o.Fake.Seed, "seed", 1, "seed of the generated account")
	fs.IntVar(&o.Conversations, "conversations", 200, "number of conversations to generate")
	fs.IntVar(&o.Fake.RateLimitPerMinute, "rate-limit", 0, "requests per minute before 429 (writes count 2); 0 = no limit")
	fs.StringVar(&o.Fake.Webhook.URL, "webhook-url", "", "deliver signed webhooks to this URL")
	fs.StringVar(&o.Fake.Webhook.Secret, "webhook-secret", "", "secret to sign webhooks with (needed with --webhook-url)")
	fs.Float64Var(&o.Speed, "speed", 0, "run a simulated team live at this many simulated seconds per real second; 0 = a static seeded account")
	fs.StringVar(&o.ScenarioName, "scenario", "", "scenario file or built-in name for the live team (default "+sim.DemoScenario+" when --speed is set)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var problems []error
	if o.Conversations < 0 {
		problems = append(problems, errors.New("--conversations must not be negative"))
	}
	if o.Fake.RateLimitPerMinute < 0 {
		problems = append(problems, errors.New("--rate-limit must not be negative"))
	}
	if (o.Fake.Webhook.URL == "") != (o.Fake.Webhook.Secret == "") {
		problems = append(problems, errors.New("--webhook-url and --webhook-secret go together"))
	}
	if o.Speed < 0 || o.Speed > sim.MaxSpeed {
		problems = append(problems, fmt.Errorf("--speed must be between 0 and %d", sim.MaxSpeed))
	}
	if o.ScenarioName != "" && o.Speed == 0 {
		problems = append(problems, errors.New("--scenario needs --speed (the scenario runs live)"))
	}
	if len(o.Fake.Webhook.Secret) > 40 {
		problems = append(problems, errors.New("--webhook-secret is longer than Help Scout's 40 characters"))
	}
	if len(problems) > 0 {
		return usagef("fake-helpscout: %v", errors.Join(problems...))
	}
	if o.Speed > 0 {
		o.ScenarioName = cmp.Or(o.ScenarioName, sim.DemoScenario)
		sc, err := sim.LoadScenario(o.ScenarioName)
		if err != nil {
			return usagef("fake-helpscout: %v", err)
		}
		o.Scenario = &sc
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	o.Listener, o.Serve = ln, serveFake
	return sim.ServeFake(ctx, o, stdout, stderr)
}
