package rebalance

import (
	"errors"
	"log/slog"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// sayFailure logs a failure of work that is tried again later (a run, a
// route pass, a steer) as store.LogFailure does: msg+then at level, or a
// damaged database file once, at ERROR, without then, since trying again
// does not help.
func (r *Rebalancer) sayFailure(level slog.Level, msg, then string, err error, attrs ...any) {
	if !errors.Is(err, store.ErrCorrupt) {
		msg += then
	}
	store.LogFailure(r.db, r.opts.Logger, level, msg, err, attrs...)
}
