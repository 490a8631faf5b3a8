package httpapi

import (
	"log/slog"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// ScrapeFailures is the metrics collector's OnError (main wires it, with
// the *store.DB as f): a failed read at WARN, since the next scrape tries
// again and the error counter already tells, but a damaged database file
// at ERROR, as the loops, the webhook intake and the page say it, and once
// between all of them. The scrape is often the first to meet the damage,
// and its line was then the only one, at WARN.
func ScrapeFailures(f store.FailureSayer, log *slog.Logger) func(error) {
	return func(err error) { store.LogFailure(f, log, slog.LevelWarn, "metrics collector", err) }
}
