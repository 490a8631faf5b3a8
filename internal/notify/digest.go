package notify

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// mostLoaded is how many agents the digest names.
const mostLoaded = 3

// digest is what the daily message says.
type digest struct {
	Day                                time.Time // the local midnight that starts the day reported
	Responses                          int
	FirstResponseP50, FirstResponseP90 time.Duration
	Office                             bool // office hours are set: OfficeP50 and OfficeP90 count
	OfficeP50, OfficeP90               time.Duration
	Moves                              store.MoveCounts
	Loaded                             []team.Agent // the most loaded, highest load ratio first
	Oldest                             *waiting     // nil when nobody waits
}

// waiting is the customer who has waited longest for a reply.
type waiting struct {
	ConversationID, Number int64
	Customer               string
	Holder                 string // the assignee's name, or "unassigned"
	Waiting                time.Duration
}

// digest reads the day before sendAt's local date from the mirror, and the
// team and the oldest wait as they are at now.
func (n *Notifier) digest(ctx context.Context, teamOf Team, sendAt, now time.Time) (digest, error) {
	local := sendAt.In(n.opts.Digest.Zone)
	end := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	start := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, local.Location())
	d := digest{Day: start, Office: n.opts.OfficeHours.IsSet()}

	responses, err := n.opts.Store.FirstResponsesBetween(ctx, start, end)
	if err != nil {
		return d, fmt.Errorf("first responses: %w", err)
	}
	d.Responses = len(responses)
	if len(responses) > 0 {
		whole := make([]time.Duration, 0, len(responses))
		office := make([]time.Duration, 0, len(responses))
		for _, r := range responses {
			whole = append(whole, max(r.RepliedAt.Sub(r.CreatedAt), 0))
			office = append(office, n.opts.OfficeHours.Elapsed(r.CreatedAt, r.RepliedAt))
		}
		slices.Sort(whole)
		slices.Sort(office)
		d.FirstResponseP50, d.FirstResponseP90 = team.Percentile(whole, 0.5), team.Percentile(whole, 0.9)
		d.OfficeP50, d.OfficeP90 = team.Percentile(office, 0.5), team.Percentile(office, 0.9)
	}
	if d.Moves, err = n.opts.Store.MovesBetween(ctx, start, end); err != nil {
		return d, fmt.Errorf("moves: %w", err)
	}

	agents, _, err := teamOf.Agents(ctx)
	if err != nil {
		return d, fmt.Errorf("agents: %w", err)
	}
	agents = slices.DeleteFunc(agents, func(a team.Agent) bool { return a.Open == 0 })
	slices.SortFunc(agents, func(a, b team.Agent) int {
		return cmp.Or(cmp.Compare(b.LoadRatio, a.LoadRatio), cmp.Compare(b.Open, a.Open), cmp.Compare(a.ID, b.ID))
	})
	d.Loaded = agents[:min(len(agents), mostLoaded)]

	oldest, err := n.opts.Store.OpenConversations(ctx, store.OpenFilter{WaitingBefore: now, Limit: 1})
	if err != nil {
		return d, fmt.Errorf("oldest wait: %w", err)
	}
	if len(oldest) == 1 {
		c := oldest[0]
		customers, err := n.opts.Store.CustomerNames(ctx, []int64{c.ID})
		if err != nil {
			return d, fmt.Errorf("customer name: %w", err)
		}
		w := &waiting{ConversationID: c.ID, Number: c.Number, Customer: customerName(customers[c.ID]),
			Holder: "unassigned", Waiting: now.Sub(c.CustomerWaitingSince)}
		if c.AssigneeID != 0 {
			w.Holder = "with " + team.Names(ctx, n.opts.Store)(c.AssigneeID)
		}
		d.Oldest = w
	}
	return d, nil
}

// customerName is the customer as the digest names them. The mirror falls
// back to the email address when Help Scout has no name, and an address
// has no place in a Slack channel (it is a customer's personal data, and
// the ticket link already leads to it for those who may see it).
func customerName(name string) string {
	if name == "" || strings.Contains(name, "@") {
		return "a customer"
	}
	return name
}
