package rebalance

import (
	"context"
	"errors"
	"log/slog"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// sayFailure logs a failure of work that is tried again later (a run, a
// route pass, a steer): msg+then at level, except a damaged database
// file. That fails every try until an operator acts, so the first of the
// loops and requests to meet it says it for all of them, once
// (store.DB.SayFailure): at ERROR, whatever level the other failures
// take, as msg+": the database file is damaged" with the remedy, and
// without then, since trying again does not help.
func (r *Rebalancer) sayFailure(level slog.Level, msg, then string, err error, attrs ...any) {
	r.db.SayFailure(err, func(err error) {
		if errors.Is(err, store.ErrCorrupt) {
			level, msg, then = slog.LevelError, msg+": the database file is damaged", ""
		}
		r.opts.Logger.Log(context.Background(), level, msg+then, append(attrs, "err", err)...)
	})
}
