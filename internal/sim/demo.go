package sim

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// Serve serves h on ln until ctx ends, then gives requests in flight up to
// grace to finish. main hands in the HTTP edge's, so that a fake Help Scout
// is served with the daemon's bounds and sim knows nothing of the edge.
type Serve func(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, grace time.Duration) error

// DemoProposalWait is how long, in real time, a demo proposal waits for
// approval: the daemon's default expiry (2h). On the simulation's clock
// the default would pass in two real minutes at 60x, and the propose-mode
// demo, whose point is moves to approve, would expire them before anyone
// looked.
const DemoProposalWait = 2 * time.Hour

// fakeGrace is how long a fake's requests in flight may take at the end.
const fakeGrace = 5 * time.Second

// DemoOptions are the choices of `queuewrangler demo`.
type DemoOptions struct {
	Addr  string  // where the daemon serves its page, API and metrics
	Speed float64 // simulated seconds per real second
	Seed  int64   // the customers' seed; 0 keeps the scenario's
	// DB is the daemon's SQLite file; empty means a temporary file,
	// removed at the end.
	DB string
	// Mode is the daemon's mode, for the banner: "apply" or "propose".
	Mode  string
	Serve Serve
}

// DemoDaemon is what the real daemon runs with in the demo: the simulated
// account's API and credentials, fresh secrets, the team's roster and the
// simulation's clock, and a logger for the terminal.
type DemoDaemon struct {
	Listener                          net.Listener
	APIURL, ClientID, ClientSecret    string
	WebhookSecret, AdminToken, DBPath string
	StuckAfter                        time.Duration
	// ProposalTTL is how long a proposal waits for approval before it goes
	// stale, on Now's clock: DemoProposalWait of real time at the demo's
	// speed, so that a proposal lasts as long for the person at the page
	// as it would in a real team.
	ProposalTTL time.Duration
	// Routing is QW_ROUTING: RecommendedMode, with the fake's routing on
	// and the Manage Routing permission granted.
	Routing balancer.RoutingMode
	Roster  *roster.Roster
	Now     func() time.Time
	Logger  *slog.Logger
	// AllowedHosts is QW_ALLOWED_HOSTS: the loopback names when the page
	// listens on loopback (nothing else can reach it), else empty.
	AllowedHosts []string
}

// RunDemo runs the demo until ctx ends: the built-in DemoScenario's team
// working live in a fake Help Scout served on a local port, and the real
// daemon, which daemon runs (it must return once ctx ends). It prints where
// to look to stdout, and the daemon's moves and problems to stderr.
func RunDemo(ctx context.Context, o DemoOptions, stdout, stderr io.Writer, daemon func(context.Context, DemoDaemon) error) error {
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick another with --addr)", o.Addr, err)
	}
	defer ln.Close()
	sc, err := Builtin(DemoScenario)
	if err != nil {
		return err
	}
	if o.Seed != 0 {
		sc.Seed = o.Seed
	}
	d := DemoDaemon{Listener: ln, ClientID: "demo", ClientSecret: "demo-secret",
		WebhookSecret: randomHex(16), AdminToken: randomHex(12), DBPath: o.DB, StuckAfter: sc.StuckAfter, Routing: RecommendedMode,
		ProposalTTL: time.Duration(float64(DemoProposalWait) * o.Speed)}
	d.AllowedHosts = loopbackHosts(ln.Addr())
	if d.DBPath == "" {
		dir, err := os.MkdirTemp("", "queuewrangler-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		d.DBPath = filepath.Join(dir, "queuewrangler.db")
	}
	fakeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer fakeLn.Close()
	daemonURL := "http://" + ln.Addr().String()
	d.APIURL = "http://" + fakeLn.Addr().String()
	// Help Scout's Balanced routing is on in the fake, so that the daemon
	// runs the recommended configuration: steering its rotation.
	acct, err := newAccount(sc, o.Speed, helpscouttest.Options{
		Seed:    sc.Seed,
		BaseURL: d.APIURL,
		Webhook: helpscouttest.WebhookOptions{URL: daemonURL + "/webhooks/helpscout", Secret: d.WebhookSecret},
	}, LiveOptions{Routing: LiveFakeRouting})
	if err != nil {
		return err
	}
	defer acct.Close()
	d.Roster, d.Now = acct.Roster, acct.Now
	d.Logger = slog.New(demoEvents{slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})})

	// The simulated account outlives the daemon: stopped first, it would
	// leave a move's note retrying against a closed port until its own
	// timeout, and Ctrl-C would seem to hang.
	fakeCtx, stopFake := context.WithCancel(context.WithoutCancel(ctx))
	defer stopFake()
	var wg sync.WaitGroup
	wg.Go(func() { _ = acct.Serve(fakeCtx, fakeLn, o.Serve, d.Logger) })

	fmt.Fprintf(stdout, "queuewrangler demo: a simulated Help Scout account, the real daemon in %s mode\n", cmp.Or(o.Mode, "apply"))
	fmt.Fprintf(stdout, "  configuration: QW_ROUTING=%s, the recommended one: Help Scout's Balanced routing is on, and the daemon\n", d.Routing)
	fmt.Fprintf(stdout, "  keeps its rotation to who should get the next ticket (the page's Routing section says who and why)\n\n")
	fmt.Fprintf(stdout, "  queue page   %s/\n", daemonURL)
	fmt.Fprintf(stdout, "  metrics      %s/metrics\n", daemonURL)
	fmt.Fprintf(stdout, "  agents API   %s/api/v1/agents\n", daemonURL)
	fmt.Fprintf(stdout, "  admin token  %s   (log in on the page, or: curl -H 'Authorization: Bearer %s' -X POST %s/api/v1/plan)\n", d.AdminToken, d.AdminToken, daemonURL)
	fmt.Fprintf(stdout, "  fake API     %s (client id %s, secret %s)\n", d.APIURL, d.ClientID, d.ClientSecret)
	fmt.Fprintf(stdout, "  team         %s (seed %d): %s\n", DemoScenario, sc.Seed, acct.Describe())
	fmt.Fprintf(stdout, "  time runs %gx from Monday 09:00 of a simulated week; Ctrl-C stops\n", o.Speed)
	if o.Mode == "propose" {
		fmt.Fprintf(stdout, "  moves wait for approval: log in on the page with the admin token and approve or reject them\n")
	}

	err = daemon(ctx, d)
	stopFake()
	wg.Wait()
	return err
}

// loopbackHosts are the Host names a browser on this machine uses for a
// loopback listener (any port); nil for any other address, where the
// operator must say which names reach it.
func loopbackHosts(addr net.Addr) []string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() {
		return nil
	}
	if tcp.IP.To4() == nil {
		return []string{"localhost", "[" + tcp.IP.String() + "]"}
	}
	return []string{"localhost", tcp.IP.String()}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// demoEvents shows what a newcomer wants to watch in the terminal: every
// move the daemon makes or skips, and any problem. The rest of the
// daemon's info lines (each sync, each run) would bury them.
type demoEvents struct{ slog.Handler }

// demoShown are the info messages demoEvents lets through. Steering the
// rotation is left out: at 60x it changes every few real seconds and
// would outnumber the moves; the page's Routing section shows it.
var demoShown = map[string]bool{"move applied": true, "move proposed": true, "move skipped: stale": true, "stopped": true,
	"routing rotation restored to the admin's set": true}

func (h demoEvents) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn && !demoShown[r.Message] {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h demoEvents) WithAttrs(as []slog.Attr) slog.Handler {
	return demoEvents{h.Handler.WithAttrs(as)}
}

func (h demoEvents) WithGroup(name string) slog.Handler { return demoEvents{h.Handler.WithGroup(name)} }

// FakeOptions are the choices of `queuewrangler fake-helpscout`.
type FakeOptions struct {
	// Addr is where the fake serves; it sets Fake.BaseURL.
	Addr string
	// Fake holds the credentials the fake accepts, its rate limit, where
	// it delivers webhooks, and the seed of a static account.
	Fake          helpscouttest.Options
	Conversations int // the size of a static account
	// Scenario, when set, is the team that works the account live at
	// Speed; ScenarioName is how the operator named it. Without one the
	// account is static: generated from Fake.Seed and never changing.
	Scenario     *Scenario
	ScenarioName string
	Speed        float64
	Serve        Serve
}

// AddFlags declares the `fake-helpscout` flags that set the options, beside
// Validate, whose messages name them.
func (o *FakeOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:9090", "listen address")
	fs.StringVar(&o.Fake.ClientID, "client-id", "demo", "OAuth2 client id the fake accepts")
	fs.StringVar(&o.Fake.ClientSecret, "client-secret", "demo-secret", "OAuth2 client secret the fake accepts")
	fs.Int64Var(&o.Fake.Seed, "seed", 1, "seed of the generated account")
	fs.IntVar(&o.Conversations, "conversations", 200, "number of conversations to generate")
	fs.IntVar(&o.Fake.RateLimitPerMinute, "rate-limit", 0, "requests per minute before 429 (writes count 2); 0 = no limit")
	fs.StringVar(&o.Fake.Webhook.URL, "webhook-url", "", "deliver signed webhooks to this URL")
	fs.StringVar(&o.Fake.Webhook.Secret, "webhook-secret", "", "secret to sign webhooks with (needed with --webhook-url)")
	fs.Float64Var(&o.Speed, "speed", 0, "run a simulated team live at this many simulated seconds per real second; 0 = a static seeded account")
	fs.StringVar(&o.ScenarioName, "scenario", "", "scenario file or built-in name for the live team (default "+DemoScenario+" when --speed is set)")
}

// Validate reports every problem of the options at once, named by the
// fake-helpscout flag that sets the value.
func (o FakeOptions) Validate() error {
	var problems []error
	check := func(bad bool, problem string) {
		if bad {
			problems = append(problems, errors.New(problem))
		}
	}
	check(o.Conversations < 0, "--conversations must not be negative")
	check(o.Fake.RateLimitPerMinute < 0, "--rate-limit must not be negative")
	check((o.Fake.Webhook.URL == "") != (o.Fake.Webhook.Secret == ""), "--webhook-url and --webhook-secret go together")
	check(o.Speed < 0 || o.Speed > MaxSpeed, fmt.Sprintf("--speed must be between 0 and %d", MaxSpeed))
	check(o.ScenarioName != "" && o.Speed == 0, "--scenario needs --speed (the scenario runs live)")
	check(len(o.Fake.Webhook.Secret) > maxWebhookSecret, "--webhook-secret is longer than Help Scout's 40 characters")
	return errors.Join(problems...)
}

// Prepare checks the parsed flags (Validate) and loads the live team's
// scenario when --speed asks for one: DemoScenario unless --scenario names
// another. Every problem it returns is a *UsageError.
func (o *FakeOptions) Prepare() error {
	if err := o.Validate(); err != nil {
		return &UsageError{err}
	}
	if o.Speed == 0 {
		return nil
	}
	o.ScenarioName = cmp.Or(o.ScenarioName, DemoScenario)
	sc, err := LoadScenario(o.ScenarioName)
	if err != nil {
		return &UsageError{err}
	}
	o.Scenario = &sc
	return nil
}

// AddFlags declares the `demo` flags that set the options; Validate
// names them.
func (o *DemoOptions) AddFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address of the daemon (page, API, metrics)")
	fs.Float64Var(&o.Speed, "speed", 60, "simulated seconds per real second")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the simulated team's customers (default: the scenario's)")
	fs.StringVar(&o.DB, "db", "", "SQLite file to keep, new or empty: each run's account starts afresh, so a file an earlier run left is refused (default: a temporary file removed at exit)")
	fs.StringVar(&o.Mode, "mode", "apply", "apply (the daemon moves tickets) or propose (it proposes; approve them on the page)")
}

// Validate reports every problem with the demo's flags at once, as one
// *UsageError: a mode the demo does not run (off would show nothing), a
// speed it cannot run at, and a --db file an earlier run left. The file
// is checked before anything starts, so that nothing in it changes: every
// demo's account is new, and what an earlier run left there belongs to
// another timeline.
func (o DemoOptions) Validate() error {
	var problems []error
	if o.Mode != "apply" && o.Mode != "propose" {
		problems = append(problems, fmt.Errorf("--mode must be apply or propose, got %q", o.Mode))
	}
	if o.Speed <= 0 || o.Speed > MaxSpeed {
		problems = append(problems, fmt.Errorf("--speed must be above 0 and at most %d, got %g", MaxSpeed, o.Speed))
	}
	switch err := store.RequireNew(o.DB); {
	case errors.Is(err, store.ErrNotNew):
		problems = append(problems, fmt.Errorf("--db: %v; every demo starts a new simulated account at Monday 09:00, so what an earlier run left there belongs to another timeline: name a file that does not exist yet, or remove this one with any -wal and -shm beside it (nothing was changed)", err))
	case err != nil:
		problems = append(problems, fmt.Errorf("--db: %v", err))
	}
	if len(problems) > 0 {
		return &UsageError{errors.Join(problems...)}
	}
	return nil
}

// maxWebhookSecret is Help Scout's limit on a webhook secret.
const maxWebhookSecret = 40

// writeServeHint tells how to point the daemon at the fake. A live team
// works in its own accelerated time, which serve's real clock does not
// share: every customer would seem to wait for months, so that hint is
// demo, which shares it.
func writeServeHint(w io.Writer, o FakeOptions, base string) {
	if o.Scenario != nil {
		fmt.Fprintf(w, "this team works in its own accelerated time, which a serve on the real clock does not share\n"+
			"(every customer would seem to wait for months): to run the daemon against a live team, use queuewrangler demo\n")
		return
	}
	webhook := ""
	if o.Fake.Webhook.URL != "" {
		webhook = "QW_HELPSCOUT_WEBHOOK_SECRET=" + o.Fake.Webhook.Secret + " "
	}
	fmt.Fprintf(w, "run the daemon against it:\n  QW_HELPSCOUT_API_URL=%s QW_HELPSCOUT_CLIENT_ID=%s QW_HELPSCOUT_CLIENT_SECRET=%s %squeuewrangler serve\n",
		base, o.Fake.ClientID, o.Fake.ClientSecret, webhook)
}

// ServeFake serves a simulated Help Scout account until ctx ends, after
// printing to stdout how to reach it and how to point the daemon at it.
func ServeFake(ctx context.Context, o FakeOptions, stdout, stderr io.Writer) error {
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	defer ln.Close()
	base := "http://" + ln.Addr().String()
	o.Fake.BaseURL = base
	var (
		acct    *Account
		summary string
	)
	if o.Scenario != nil {
		if acct, err = NewAccount(*o.Scenario, o.Speed, o.Fake); err != nil {
			return err
		}
		summary = fmt.Sprintf("a live simulated team (%s, %d people) at %gx", o.ScenarioName, len(o.Scenario.Team), o.Speed)
	} else {
		fake := helpscouttest.New(o.Fake)
		gen, err := fake.Seed(helpscouttest.GenerateConfig{Seed: o.Fake.Seed, Conversations: o.Conversations})
		if err != nil {
			fake.Close()
			return fmt.Errorf("generate account: %w", err)
		}
		acct = &Account{Fake: fake}
		summary = fmt.Sprintf("%d conversations, %d mailboxes, %d agents, %d teams (seed %d)",
			len(gen.Conversations), len(gen.Mailboxes), len(gen.Agents), len(gen.Teams), o.Fake.Seed)
	}
	defer acct.Close()
	id, secret := o.Fake.ClientID, o.Fake.ClientSecret
	fmt.Fprintf(stdout, "fake Help Scout serving at %s\n", base)
	fmt.Fprintf(stdout, "  client id:     %s\n  client secret: %s\n", id, secret)
	fmt.Fprintf(stdout, "  account:       %s\n", summary)
	fmt.Fprintf(stdout, "try: curl -s -d grant_type=client_credentials -d client_id=%s -d client_secret=%s %s/v2/oauth2/token\n", id, secret, base)
	writeServeHint(stdout, o, base)
	return acct.Serve(ctx, ln, o.Serve, slog.New(slog.NewTextHandler(stderr, nil)))
}
