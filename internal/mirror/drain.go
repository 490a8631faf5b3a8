package mirror

import (
	"context"
	"time"
)

// defaultDrainTimeout bounds Drain: long enough for the handful of
// re-reads the last moves before a stop queue, short enough that a Help
// Scout outage does not hold up a restart (the next start's sync repairs
// whatever is left).
const defaultDrainTimeout = 5 * time.Second

// Drain re-reads the conversations still queued when the daemon stops.
// Refresh only queues a moved conversation while a sync holds the lock, and
// Run stops without working through the queue, so a move made in the last
// seconds would otherwise reach the store only at the next start.
//
// Call it after everything that calls Refresh (the balancer, own routing,
// the HTTP API) has stopped, so that nothing is queued behind it, and
// before the store closes. It takes the conversations queued when it
// starts, at most, for at most Options.DrainTimeout; ctx's cancellation is
// ignored, since at shutdown it has already ended. What it leaves is
// logged with a count, and that count is returned.
func (m *Mirror) Drain(ctx context.Context) (left int) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.DrainTimeout)
	defer cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	queued := m.rereads.len()
	if queued == 0 {
		return 0
	}
	var st Stats
	var failed int
	var lastErr error
	for range queued {
		if err := ctx.Err(); err != nil {
			lastErr = err // the bound is spent
			break
		}
		id, ok := m.rereads.next()
		if !ok {
			break
		}
		// The queue dies with the process: a failure is counted and the
		// next conversation tried, rather than retried, within the bound.
		if err := m.refresh(ctx, id, &st); err != nil {
			failed, lastErr = failed+1, err
		}
		m.rereads.done(id)
	}
	left = failed + m.rereads.len()
	if left == 0 {
		m.opts.Logger.Info("re-read the conversations queued before stopping", "count", queued)
		return 0
	}
	m.opts.Logger.Warn("stopping with conversations not re-read; the next start's sync brings them in",
		"count", left, "queued", queued, "err", lastErr)
	return left
}
