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
	kinds := []struct {
		name    string
		pending func(context.Context, int) ([]store.Observation, error)
		mark    func(context.Context, int64, time.Time) (bool, error)
		record  func(store.Observation, float64)
	}{
		{"first response", m.db.UnobservedFirstResponses, m.db.MarkFirstResponseObserved, func(o store.Observation, s float64) {
			m.opts.Metrics.FirstResponse.WithLabelValues(id(o.MailboxID), id(o.AgentID)).Observe(s)
		}},
		{"resolution", m.db.UnobservedResolutions, m.db.MarkResolutionObserved, func(o store.Observation, s float64) {
			m.opts.Metrics.Resolution.WithLabelValues(id(o.MailboxID)).Observe(s)
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
					k.record(o, o.At.Sub(o.CreatedAt).Seconds())
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
