package mirror

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// observeBatch bounds one read of pending observations.
const observeBatch = 500

// RecentWindow is how old a first reply or resolution may be and still be
// observed. History older than this, met on the first sync of an existing
// account, is marked without being observed: a burst of months-old times in
// one scrape interval would distort every rate-based panel.
const RecentWindow = 24 * time.Hour

// observe turns newly mirrored first replies and resolutions into histogram
// observations. Each is marked in SQLite first and observed only if this
// call marked it, so a crash can lose at most the observations in flight and
// a restart never repeats one.
func (m *Mirror) observe(ctx context.Context) (int, error) {
	if m.opts.Metrics == nil {
		return 0, nil // sync runs without metrics; leave them for serve
	}
	n := 0
	ins, office := m.opts.Metrics, m.opts.OfficeHours
	if ins.FirstResponseOffice == nil || ins.ResolutionOffice == nil {
		office = nil // office hours not set: their histograms are not registered
	}
	// The office-hours twin is observed at the same moment as the live
	// histogram, behind the same mark, so that both count the same
	// conversations once.
	live := func(o store.Observation) float64 { return o.At.Sub(o.CreatedAt).Seconds() }
	inside := func(o store.Observation) float64 { return office.Elapsed(o.CreatedAt, o.At).Seconds() }
	kinds := []struct {
		name    string
		pending func(context.Context, int) ([]store.Observation, error)
		mark    func(context.Context, int64, time.Time) (bool, error)
		record  func(store.Observation)
	}{
		{"first response", m.db.UnobservedFirstResponses, m.db.MarkFirstResponseObserved, func(o store.Observation) {
			mailbox, agent := id(o.MailboxID), id(o.AgentID)
			ins.FirstResponse.WithLabelValues(mailbox, agent).Observe(live(o))
			if office != nil {
				ins.FirstResponseOffice.WithLabelValues(mailbox, agent).Observe(inside(o))
			}
		}},
		{"resolution", m.db.UnobservedResolutions, m.db.MarkResolutionObserved, func(o store.Observation) {
			ins.Resolution.WithLabelValues(id(o.MailboxID)).Observe(live(o))
			if office != nil {
				ins.ResolutionOffice.WithLabelValues(id(o.MailboxID)).Observe(inside(o))
			}
		}},
	}
	now := m.opts.Now()
	for _, k := range kinds {
		for {
			obs, err := k.pending(ctx, observeBatch)
			if err != nil {
				return n, fmt.Errorf("read unobserved %ss: %w", k.name, err)
			}
			for _, o := range obs {
				first, err := k.mark(ctx, o.ConversationID, now)
				if err != nil {
					return n, fmt.Errorf("mark %s of conversation %d: %w", k.name, o.ConversationID, err)
				}
				if first && now.Sub(o.At) <= RecentWindow {
					k.record(o)
					n++
				}
			}
			if len(obs) < observeBatch {
				break
			}
		}
	}
	return n, nil
}

func id(v int64) string { return strconv.FormatInt(v, 10) }
