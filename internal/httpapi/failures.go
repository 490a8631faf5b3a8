package httpapi

import (
	"context"
	"errors"
	"log/slog"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// ScrapeFailures is the metrics collector's OnError (main wires it, with
// the *store.DB as f): a failed read at WARN, since the next scrape tries
// again and the error counter already tells, but a damaged database file
// at ERROR, as the loops, the webhook intake and the page say it, and once
// between all of them. The scrape is often the first to meet the damage,
// and its line was then the only one, at WARN.
func ScrapeFailures(f FailureFilter, log *slog.Logger) func(error) {
	return func(err error) { sayFailure(f, log, slog.LevelWarn, "metrics collector", err) }
}

// sayFailure logs err with msg at level through f, except a damaged
// database file: only when it is news, and at ERROR with a message that
// names it, whatever level the caller's other failures take.
func sayFailure(f FailureFilter, log *slog.Logger, level slog.Level, msg string, err error, attrs ...any) {
	f.SayFailure(err, func(err error) {
		if errors.Is(err, store.ErrCorrupt) {
			level, msg = slog.LevelError, msg+": the database file is damaged"
		}
		log.Log(context.Background(), level, msg, append(attrs, "err", err)...)
	})
}
