package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// fakeFlags are the flags of fake-helpscout (design.md section 4).
type fakeFlags struct {
	addr, clientID, clientSecret string
	seed                         int64
	conversations, rateLimit     int
	webhookURL, webhookSecret    string
	speed                        float64
	scenario                     string
}

func runFakeHelpScout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f fakeFlags
	fs := newFlagSet("fake-helpscout", stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:9090", "listen address")
	fs.StringVar(&f.clientID, "client-id", "demo", "OAuth2 client id the fake accepts")
	fs.StringVar(&f.clientSecret, "client-secret", "demo-secret", "OAuth2 client secret the fake accepts")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the generated account")
	fs.IntVar(&f.conversations, "conversations", 200, "number of conversations to generate")
	fs.IntVar(&f.rateLimit, "rate-limit", 0, "requests per minute before 429 (writes count 2); 0 = no limit")
	fs.StringVar(&f.webhookURL, "webhook-url", "", "deliver signed webhooks to this URL")
	fs.StringVar(&f.webhookSecret, "webhook-secret", "", "secret to sign webhooks with (needed with --webhook-url)")
	fs.Float64Var(&f.speed, "speed", 0, "run a simulated team live at this many simulated seconds per real second; 0 = a static seeded account")
	fs.StringVar(&f.scenario, "scenario", "", "scenario file or built-in name for the live team (default "+demoScenario+" when --speed is set)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var problems []error
	if f.conversations < 0 {
		problems = append(problems, errors.New("--conversations must not be negative"))
	}
	if f.rateLimit < 0 {
		problems = append(problems, errors.New("--rate-limit must not be negative"))
	}
	if (f.webhookURL == "") != (f.webhookSecret == "") {
		problems = append(problems, errors.New("--webhook-url and --webhook-secret go together"))
	}
	if f.speed < 0 || f.speed > 3600 {
		problems = append(problems, errors.New("--speed must be between 0 and 3600"))
	}
	if f.scenario != "" && f.speed == 0 {
		problems = append(problems, errors.New("--scenario needs --speed (the scenario runs live)"))
	}
	if len(f.webhookSecret) > 40 {
		problems = append(problems, errors.New("--webhook-secret is longer than Help Scout's 40 characters"))
	}
	if len(problems) > 0 {
		return usagef("fake-helpscout: %v", errors.Join(problems...))
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.addr, err)
	}
	base := "http://" + ln.Addr().String()
	opts := helpscouttest.Options{
		ClientID:           f.clientID,
		ClientSecret:       f.clientSecret,
		RateLimitPerMinute: f.rateLimit,
		Seed:               f.seed,
		BaseURL:            base,
	}
	if f.webhookURL != "" {
		opts.Webhook = helpscouttest.WebhookOptions{URL: f.webhookURL, Secret: f.webhookSecret}
	}
	var (
		fake    *helpscouttest.Server
		live    *sim.Live
		summary string
	)
	if f.speed > 0 {
		name := cmp.Or(f.scenario, demoScenario)
		sc, err := sim.LoadScenario(name)
		if err != nil {
			ln.Close()
			return usagef("fake-helpscout: %v", err)
		}
		fake, live, _, err = newLiveFake(sc, f.speed, opts)
		if err != nil {
			ln.Close()
			return err
		}
		summary = fmt.Sprintf("a live simulated team (%s, %d people) at %gx", name, len(sc.Team), f.speed)
	} else {
		fake = helpscouttest.New(opts)
		acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: f.seed, Conversations: f.conversations})
		if err != nil {
			fake.Close()
			ln.Close()
			return fmt.Errorf("generate account: %w", err)
		}
		summary = fmt.Sprintf("%d conversations, %d mailboxes, %d agents, %d teams (seed %d)",
			len(acct.Conversations), len(acct.Mailboxes), len(acct.Agents), len(acct.Teams), f.seed)
	}
	defer fake.Close()
	fmt.Fprintf(stdout, "fake Help Scout serving at %s\n", base)
	fmt.Fprintf(stdout, "  client id:     %s\n  client secret: %s\n", f.clientID, f.clientSecret)
	fmt.Fprintf(stdout, "  account:       %s\n", summary)
	fmt.Fprintf(stdout, "try: curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s %s/v2/oauth2/token\n",
		f.clientID, f.clientSecret, base)
	fmt.Fprintf(stdout, "run the daemon against it:\n  QW_HELPSCOUT_API_URL=%s QW_HELPSCOUT_CLIENT_ID=%s QW_HELPSCOUT_CLIENT_SECRET=%s queuewrangler serve\n",
		base, f.clientID, f.clientSecret)
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, cancel := context.WithCancel(ctx)
	var team sync.WaitGroup
	if live != nil {
		team.Go(func() {
			if err := live.Run(ctx); err != nil {
				logger.Error("the simulated team stopped", "err", err)
			}
		})
	}
	err = serveUntilDone(ctx, ln, fake, logger)
	cancel()
	team.Wait()
	return err
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
