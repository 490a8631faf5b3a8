package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/backfill"
	"github.com/queuewrangler/queuewrangler/internal/cli"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/notify"
	"github.com/queuewrangler/queuewrangler/internal/outbound"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/internal/version"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// Log attribute keys used by more than one component.
const (
	logKeyAddr = "addr"
	logKeyErr  = "err"
)

func runServe(ctx context.Context, fs *cli.Flags, args []string, _, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := serveConfig(ctx, false)
	if err != nil {
		// Refused, serve never reaches its start's warning (run), and a
		// misspelt name is often the cause of the problem it refuses:
		// QW_HELPSCOUT_CLIENT_IDD leaves the client id "required". So the
		// warnings come with the problems, as check's do.
		warnUnknown(stderr, "serve")
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("QW_LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	return run(ctx, cfg, ln, cfg.Logger(stderr), time.Now)
}

// serveConfig is all serve reads before it starts, and all check reads: one call, so that they cannot disagree.
// check adds config.WritableNow (forCheck): a read-only mount under QW_DB_PATH, which serve waits out (it may be
// remounted), is what a check before a start is for.
func serveConfig(ctx context.Context, forCheck bool) (*settings, error) {
	need := config.NeedsHelpScout | config.WritesDB
	if forCheck {
		need |= config.WritableNow
	}
	return loadConfig(ctx, need, true)
}

// runCheck is `queuewrangler check`: serve's configuration step alone, and store.Inspect of QW_DB_PATH (who wrote it,
// read without creating or changing it), then what it read (never a secret).
// Warnings go to stderr, as serve's do, beside the problems: `check >/dev/null` still shows a misspelt name.
func runCheck(ctx context.Context, fs *cli.Flags, args []string, stdout, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	warnUnknown(stderr, "serve") // serve warns of them at start, or with the problems when it refuses to start
	s, err := serveConfig(ctx, true)
	if err != nil {
		return err
	}
	// Who wrote QW_DB_PATH, read without creating the file or changing a
	// byte: serve refuses another program's file, or a newer
	// queuewrangler's, at once, and says it as openError does here.
	db, err := store.Inspect(ctx, s.DBPath)
	if err != nil {
		return openError(s.DBPath, err)
	}
	fmt.Fprintln(stdout, "Settings:")
	if err := s.WriteSettings(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nRoster (%s):\n", cmp.Or(s.RosterFile, "QW_ROSTER_FILE is empty"))
	if err := s.roster.WriteSummary(stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nDatabase (%s):\n  %s\n", s.DBPath, describeDatabase(db))
	_, err = fmt.Fprintln(stdout, "\nserve would start with these. It checks at start what only opening the database and Help Scout tell:"+
		"\nwhether another process holds the database, whether it is whole, the credentials, and which roster entries match no user.")
	return err
}

// warnUnknown writes a warning line to stderr for each unknown QW_
// variable (config.UnknownVariables), as check and a command refusing its
// configuration say them. command is the one that ignores the variable:
// check speaks for serve, the others for themselves.
func warnUnknown(stderr io.Writer, command string) {
	for _, name := range config.UnknownVariables(os.Environ()) {
		fmt.Fprintf(stderr, "warning: %s is not a queuewrangler variable: %s ignores it\n", name, command)
	}
}

// describeDatabase says what serve will do with the database Inspect found.
func describeDatabase(f store.File) string {
	latest := store.LatestSchemaVersion()
	switch {
	case !f.Exists:
		return "none yet: serve creates it at start, and its first sync reads Help Scout's whole history"
	case f.SchemaVersion == 0:
		// No table and no version: Open takes it as a new database, but
		// nothing says it is queuewrangler's (an empty file another tool
		// created), so it is not called so.
		return "an SQLite file with no tables yet: serve makes it queuewrangler's at start, and its first sync reads Help Scout's whole history"
	case f.SchemaVersion < latest:
		return fmt.Sprintf("queuewrangler's, schema version %d: serve upgrades it to %d at start (plan and backfill read it once it has)", f.SchemaVersion, latest)
	}
	return fmt.Sprintf("queuewrangler's, schema version %d (this binary's)", f.SchemaVersion)
}

func runSync(ctx context.Context, fs *cli.Flags, args []string, stdout, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(ctx, config.NeedsHelpScout|config.WritesDB, false)
	if err != nil {
		// Refused, sync never reaches its logger's warning, and a misspelt
		// name is often the problem's cause, as for serve.
		warnUnknown(stderr, "sync")
		return err
	}
	logger := cfg.Logger(stderr)
	config.WarnUnknown(logger)
	// Exclusive: a sync beside a running daemon would write the same rows
	// and cursor, and the daemon's own polling already does what it does.
	db, err := store.OpenExclusive(ctx, cfg.DBPath, "sync")
	if err != nil {
		return openError(cfg.DBPath, err)
	}
	defer db.Close()
	logMigration(logger, db, cfg.DBPath)
	hs, err := newHelpScout(cfg.Config, nil, outbound.NewFailures(logger.With("component", "helpscout")), logger)
	if err != nil {
		return err
	}
	mir := mirror.New(hs, db, mirror.Options{Mailboxes: cfg.Mailboxes.IDs, Logger: logger})
	start := time.Now()
	st, err := mir.SyncOnce(ctx)
	if err != nil {
		if st.Applied > 0 {
			return fmt.Errorf("sync: %w (the %d conversations stored before the failure are kept; the next sync resumes from them)", err, st.Applied)
		}
		return fmt.Errorf("sync: %w", err)
	}
	fmt.Fprintf(stdout, "synced into %s in %s\n", cfg.DBPath, time.Since(start).Round(time.Millisecond))
	return mir.WriteSyncTable(ctx, stdout, st)
}

func runPlan(ctx context.Context, fs *cli.Flags, args []string, stdout, stderr io.Writer) error {
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, db, err := openMirror(ctx, "plan", true, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	r := rebalance.New(db, nil, rebalance.Options{Mode: rebalance.ModePropose, Policy: cfg.policy, Roster: cfg.roster})
	res, team, err := r.DryRun(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return rebalance.WritePlanJSON(stdout, res, team)
	}
	return rebalance.WritePlanTable(stdout, res, team)
}

// openMirror opens the mirror read-only and without the lock (plan, backfill):
// beside the daemon, and never creating an empty database that reads as "all well".
// Refusing the configuration, it names the unknown QW_ variables on stderr
// beside the problems, for command, as serve does: a misspelt name is often the cause.
func openMirror(ctx context.Context, command string, withRoster bool, stderr io.Writer) (cfg *settings, db *store.DB, err error) {
	if cfg, err = loadConfig(ctx, 0, withRoster); err != nil {
		warnUnknown(stderr, command)
		return nil, nil, err
	}
	if db, err = store.OpenReadOnly(ctx, cfg.DBPath); err != nil {
		err = openError(cfg.DBPath, err)
	}
	return cfg, db, err
}

// runBackfill is `queuewrangler backfill` (internal/backfill), read-only beside the daemon.
func runBackfill(ctx context.Context, fs *cli.Flags, args []string, stdout, stderr io.Writer) error {
	opts := backfill.Options{Now: time.Now(), Report: stderr}
	opts.AddFlags(fs.FlagSet)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil { // what each flag alone allows, but not together (--step past --since)
		return cli.Usagef("backfill: %v", err)
	}
	cfg, db, err := openMirror(ctx, "backfill", false, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	opts.OfficeHours = cfg.office
	_, err = backfill.Run(ctx, db, stdout, opts)
	return err
}

// run is the daemon: it owns every long-lived goroutine and stops them in reverse order of start (HTTP
// intake, then the loops, the mirror's queued re-reads, the store). now is its clock (the demo's is simulated).
func run(ctx context.Context, cfg *settings, ln net.Listener, logger *slog.Logger, now func() time.Time) error {
	mode, office := cfg.mode, cfg.office
	config.WarnUnknown(logger)
	reg := metrics.NewRegistry()
	m := metrics.NewInstruments(reg)
	if office.IsSet() {
		m.EnableOfficeHours(reg, cfg.OfficeResponseTarget.Duration)
	}

	// Serve at once: while the database cannot be opened (a read-only or full disk), /healthz answers 200
	// and /readyz 503 with the reason, and the daemon keeps retrying instead of exiting into a crash loop.
	gate := httpapi.NewGate("the database is not open yet")
	// Stopped first, in order; its grace is the stop's share for the work
	// under way, counted from the signal, when Stop is called.
	intake := httpapi.Start(ln, gate, logger, workShare)

	if !store.LocksSupported {
		logger.Warn("this system has no file lock: nothing stops a second daemon on the same database", "db", cfg.DBPath)
	}
	db, err := store.OpenPatiently(ctx, cfg.DBPath, "serve", func(err error, wait time.Duration) {
		gate.NotReady(store.OpenFailedReason(err))
		logger.Error("open database; retrying", "db", cfg.DBPath, logKeyErr, err, "retry_in", wait.String())
	})
	if err != nil {
		intake.Stop()
		if ctx.Err() != nil {
			return nil // stopped while waiting for the database
		}
		return openError(cfg.DBPath, err) // only what no retry fixes
	}
	// A stop whose budget was spent closes without PRAGMA optimize, which
	// could take seconds more past it (store.CloseWithoutOptimize).
	overBudget := false
	defer func() {
		if overBudget {
			_ = db.CloseWithoutOptimize()
			return
		}
		_ = db.Close()
	}()
	db.Now = now
	logMigration(logger, db, cfg.DBPath)

	hsFailures := outbound.NewFailures(logger.With("component", "helpscout"))
	hs, err := newHelpScout(cfg.Config, m, hsFailures, logger)
	if err != nil {
		intake.Stop()
		return err
	}
	var own *rebalance.Router // QW_ROUTING=own's first assignments; nil in the other modes
	mir := mirror.New(hs, db, mirror.Options{Mailboxes: cfg.Mailboxes.IDs, Logger: logger.With("component", "mirror"),
		Metrics: m, OfficeHours: office, Updated: func() { own.Wake() }, Now: now, DrainTimeout: drainShare})

	// New warns at start of disabled webhooks and of answering any Host.
	api := httpapi.New(httpapi.Options{Logger: logger.With("component", "http"), Metrics: m, Gatherer: reg, Now: now,
		WebhookSecret: cfg.WebhookSecret.Reveal(), Inbox: db, WebhookReceived: mir.Wake,
		Ready: mir.ReadyWithCause(hsFailures.Last), QueueAsOf: mir.QueueAsOf,
		AllowedHosts: cfg.AllowedHosts.Hosts, Dashboard: metrics.Dashboard, AlertRules: metrics.AlertRules})
	digest := cfg.SlackDigestAt
	slack := notify.New(notify.Options{WebhookURL: cfg.SlackWebhookURL.Reveal(), PageURL: cfg.PublicURL, OfficeHours: office,
		Store: db, Metrics: m, Now: now, Logger: logger.With("component", "slack"),
		Digest: notify.Daily{Hour: digest.Hour, Minute: digest.Minute, Zone: digest.Location}})
	rebOpts := rebalance.Options{Mode: mode, Routing: cfg.routing, Mailboxes: cfg.Mailboxes.IDs, Policy: cfg.policy,
		Roster: cfg.roster, AfterApply: mir.Refresh, Logger: logger.With("component", "balancer"), Metrics: m, Now: now,
		ProposalTTL: cfg.ttl}
	if slack != nil { // a nil *Notifier in the interface would not be a nil Notify
		rebOpts.Notify = slack
	}
	reb := rebalance.New(db, hs, rebOpts)
	own = reb.NewRouter(ctx, rebalance.RouterOptions{CheckEvery: cfg.BalanceInterval.Duration, Ready: mir.Ready})
	reg.MustRegister(metrics.NewCollector(reb, metrics.CollectorOptions{OnError: httpapi.ScrapeFailures(db, logger), Ready: mir.HoldsQueue}))
	token, stuckAfter := cfg.AdminToken.Reveal(), cfg.StuckAfter.Duration
	api.EnableAPI(httpapi.APIOptions{Team: reb, Queue: db, Decider: reb, Routing: reb, AdminToken: token,
		StuckAfter: stuckAfter, Mode: string(mode)})
	notices := team.Setup{DB: db, Roster: cfg.roster, Ready: mir.Ready, EscalateStuck: mode != rebalance.ModeOff && stuckAfter > 0, Mailboxes: cfg.Mailboxes.IDs}
	api.EnablePage(httpapi.PageOptions{Team: reb, Queue: db, Decider: reb, Routing: reb, Customers: db, FirstResponses: db,
		Notices: httpapi.JoinNotices(notices, reb), AdminToken: token, StuckAfter: stuckAfter, Mode: string(mode),
		Location: office.Location(), Failures: db, Backlog: cfg.policy.Backlog})
	gate.Open(api)

	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx)) // they run while HTTP drains
	var loops sync.WaitGroup
	loops.Go(func() { _ = mir.Run(loopCtx, cfg.PollInterval.Duration) })
	loops.Go(func() { reb.Run(loopCtx, cfg.BalanceInterval.Duration, mir.Ready) }) // off: only expires proposals
	loops.Go(func() { own.Run(loopCtx) })
	loops.Go(func() { notices.WarnOnce(loopCtx, logger.With("component", "roster")) })
	loops.Go(func() { slack.Run(loopCtx, reb) }) // slack is nil without QW_SLACK_WEBHOOK_URL: Run returns at once

	logger.Info("queuewrangler serving", logKeyAddr, ln.Addr().String(), "mode", string(mode), "routing", string(cfg.routing),
		"poll_interval", cfg.PollInterval.Duration.String(), "db", cfg.DBPath, "version", version.Version(), "commit", version.Commit())

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "budget", stopBudget.String())
	case <-intake.Done(): // only a failure ends it before shutdown
		runErr = fmt.Errorf("http server: %w", intake.Err())
	}
	stopped := time.Now()
	stopBy := stopped.Add(stopBudget)
	work, cancelWork := context.WithDeadline(context.Background(), stopBy.Add(-cutShare-drainShare))
	defer cancelWork()
	// No new balancer run or route begins from here, though the pass under
	// way goes on while HTTP drains: one slow request may hold the drain
	// for all of workShare, moves begun meanwhile would only be cut, and
	// steer's restoring of the admin's sets, as the balancer's loop
	// returns, must not wait for the drain. It is bounded by the work's
	// share, like the moves, so that the loop has cutShare to return.
	workBy, _ := work.Deadline()
	reb.StopStarting(workBy)
	intake.Stop() // within workShare; the loops go on meanwhile
	stopLoops()
	// The moves and notes under way, the approvals' among them (an approval
	// still in its re-read or assignment when the HTTP grace ran out too),
	// end within the work's share, or are cut where the next start finishes
	// them (rebalance.Halt).
	cut := reb.Halt(work, cutShare)
	loopsDone := make(chan struct{})
	go func() { loops.Wait(); close(loopsDone) }()
	drainAt := time.NewTimer(time.Until(stopBy.Add(-drainShare)))
	defer drainAt.Stop()
	select {
	case <-loopsDone:
		sayCut(logger, cut)
		if cut.Running > 0 {
			// The store too slow to record the moves would be as slow
			// for the drain's writes, and a move still running may hold
			// the mirror Drain waits for: as below, the next start's
			// sync reads what it would have.
			overBudget = true
			logger.Warn("shutdown: stopping without re-reading the last moves, a move or note still running")
			break
		}
		mir.Drain(ctx) // once nothing moves tickets any more (mirror.Drain)
	case <-drainAt.C:
		// Drain must not run beside a loop that may still queue re-reads;
		// the next start's sync reads what it would have.
		sayCut(logger, cut)
		overBudget = true
		logger.Warn("shutdown: a loop had not stopped at the end of its share; stopping without it and without re-reading the last moves")
	}
	logger.Info("stopped", "took", time.Since(stopped).Round(time.Millisecond).String())
	return runErr
}

// A stop has one budget from SIGTERM to exit, shared by the HTTP server's
// grace, the loops, the moves and notes under way and the mirror's drain:
// `docker stop` sends SIGKILL 10 s after SIGTERM by default, which would
// cut the stop wherever it had got to. Whatever the budget cuts is left
// where a crash leaves it, and the next start finishes it: a note still
// due is written by the first run 5 minutes or more after its move, a
// move left applying is settled from Help Scout, an approved move is made,
// and the sync reads what the drain did not. So a longer stop timeout
// loses nothing, and neither does a shorter one.
const (
	stopBudget = 8 * time.Second
	// drainShare is mirror.Drain's, last.
	drainShare = 1500 * time.Millisecond
	// cutShare is for the work cut at the end of workShare to return,
	// having recorded where it stopped (rebalance.Halt's grace).
	cutShare = 500 * time.Millisecond
	// workShare is the HTTP server's grace, and the loops', moves' and
	// notes' time to end, all counted from SIGTERM.
	workShare = stopBudget - drainShare - cutShare
)

// sayCut logs at INFO what the stop's budget left for the next start.
func sayCut(logger *slog.Logger, cut rebalance.Cut) {
	for _, left := range []struct {
		n              int
		one, many, why string
	}{
		{cut.Notes, "note", "notes", "the first run 5 minutes or more after its move writes it, unless the ticket has it"},
		{cut.Applying, "move being assigned", "moves being assigned", "left applying; the first run 5 minutes or more after its claim settles it from Help Scout"},
		{cut.Approved, "approved move", "approved moves", "nothing was written to Help Scout; the next run makes it"},
	} {
		if left.n > 0 {
			logger.Info(fmt.Sprintf("shutdown: %d %s left for the next start", left.n, plural(left.n, left.one, left.many)), "why", left.why)
		}
	}
	if cut.Running > 0 {
		logger.Warn(fmt.Sprintf("shutdown: %d %s still running at the end of the budget", cut.Running, plural(cut.Running, "move or note", "moves or notes")))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// logMigration says at INFO when opening migrated the database: the only
// trace an upgrade leaves, and the point after which an older binary
// refuses the file, so that rolling back needs a copy taken before.
func logMigration(logger *slog.Logger, db *store.DB, path string) {
	if from, to, ok := db.Migrated(); ok {
		logger.Info(fmt.Sprintf("database migrated from schema %d to %d", from, to), "db", path,
			"note", "a queuewrangler older than this one refuses the file now; to roll back, restore a copy taken before the upgrade")
	}
}
