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
// one scrape interval would distort every rate-based panel. `backfill`
// writes that history instead, ending where live observation began.
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
		mark    func(context.Context, int64, time.Time, bool) (bool, error)
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
	seam, err := m.liveSeam(ctx)
	if err != nil {
		return 0, err
	}
	now := m.opts.Now()
	for _, k := range kinds {
		for {
			obs, err := k.pending(ctx, observeBatch)
			if err != nil {
				return n, fmt.Errorf("read unobserved %ss: %w", k.name, err)
			}
			for _, o := range obs {
				live := observeLive(o, now, seam)
				first, err := k.mark(ctx, o.ConversationID, now, live)
				if err != nil {
					return n, fmt.Errorf("mark %s of conversation %d: %w", k.name, o.ConversationID, err)
				}
				if first && live {
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

// observeLive says whether o goes into the live histograms: it is recent,
// and newer than anything the mirror held before the daemon's first sync
// (a `backfill` run before the daemon may have written that). The others
// are marked as history, which `backfill` writes.
func observeLive(o store.Observation, now time.Time, seam store.LiveSeam) bool {
	return now.Sub(o.At) <= RecentWindow && o.At.After(seam.HistoryUntil)
}

// liveSeam returns where live observation began, recording it on the
// first call in the file's life (store.BeginLiveObservation). The mirror
// calls it before its first sync with metrics and before any observation.
func (m *Mirror) liveSeam(ctx context.Context) (store.LiveSeam, error) {
	if !m.seam.Since.IsZero() {
		return m.seam, nil
	}
	seam, err := m.db.BeginLiveObservation(ctx, m.opts.Now())
	if err != nil {
		return store.LiveSeam{}, fmt.Errorf("record the start of live observation: %w", err)
	}
	m.seam = seam
	return seam, nil
}

func id(v int64) string { return strconv.FormatInt(v, 10) }
