package sim

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// DemoScenario is the built-in team `queuewrangler demo` runs, and the live
// team of fake-helpscout unless it is given another.
const DemoScenario = "small-team-week"

// MaxSpeed is the fastest an account runs: an hour of simulated time each
// real second.
const MaxSpeed = 3600

// accountWarmUp starts an account at Monday 09:00 of the simulated week,
// with the night's arrivals already waiting, so that there is work to
// balance at once.
const accountWarmUp = 9 * time.Hour

// Account is a simulated Help Scout account running live: a fake Help Scout
// that stamps its data with the simulation's clock, and a scenario's team
// working in it through the fake's state API, which emits signed webhooks
// as Help Scout does. Serve Fake, run Team, and give the daemon Now and
// Roster so that it measures time and knows people as the team does.
type Account struct {
	Fake *helpscouttest.Server
	Team *Live // nil for a static account (ServeFake without a speed)
	// Now is the simulation's clock: Speed times the wall clock.
	Now func() time.Time
	// Roster is the team as the daemon's roster file would describe it.
	Roster *roster.Roster

	sc Scenario
}

// NewAccount builds a fake Help Scout from opts (its Clock is replaced by
// the simulation's) and starts sc's team in it, at speed simulated seconds
// per real second.
func NewAccount(sc Scenario, speed float64, opts helpscouttest.Options) (*Account, error) {
	return newAccount(sc, speed, opts, LiveOptions{})
}

func newAccount(sc Scenario, speed float64, opts helpscouttest.Options, lo LiveOptions) (*Account, error) {
	clock := NewClock(sc, speed, accountWarmUp, nil)
	opts.Clock = clock.Now
	fake := helpscouttest.New(opts)
	live, err := NewLive(sc, fake, clock, lo)
	if err != nil {
		fake.Close()
		return nil, fmt.Errorf("start the simulated team: %w", err)
	}
	ros, err := live.Roster()
	if err != nil {
		fake.Close()
		return nil, fmt.Errorf("the simulated team's roster: %w", err)
	}
	return &Account{Fake: fake, Team: live, Now: clock.Now, Roster: ros, sc: sc}, nil
}

// Serve serves the fake on ln with serve and runs the team, until ctx
// ends or the server fails; then it waits for the team. A team that stops
// early is logged.
func (a *Account) Serve(ctx context.Context, ln net.Listener, serve Serve, logger *slog.Logger) error {
	var team sync.WaitGroup
	defer team.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if a.Team != nil {
		team.Go(func() {
			if err := a.Team.Run(ctx); err != nil {
				logger.Error("the simulated team stopped", "err", err)
			}
		})
	}
	return serve(ctx, ln, a.Fake, logger, fakeGrace)
}

// Close stops the fake's webhook deliveries.
func (a *Account) Close() { a.Fake.Close() }

// Describe names the team for a person: "Ana (st, level 1), Ben (...)".
func (a *Account) Describe() string {
	names := make([]string, len(a.sc.Team))
	for i, m := range a.sc.Team {
		names[i] = fmt.Sprintf("%s (%s, level %d)", m.Name, m.Role, m.Level)
	}
	return strings.Join(names, ", ")
}
