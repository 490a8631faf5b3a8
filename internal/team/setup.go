package team

import (
	"context"
	"log/slog"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// Setup judges the setup's mistakes that only Help Scout's user list
// reveals (Notices), for the page and, once, the log.
type Setup struct {
	DB            *store.DB
	Roster        *roster.Roster
	Ready         func() (bool, string) // the mirror's: the directory is filled by the first sync
	EscalateStuck bool
}

// Notices judges the mirror's directory once the first sync has filled it.
func (s Setup) Notices(ctx context.Context) ([]string, error) {
	if ok, _ := s.Ready(); !ok {
		return nil, nil
	}
	users, err := s.DB.Users(ctx)
	if err != nil {
		return nil, err
	}
	return Notices(users, s.Roster, s.EscalateStuck), nil
}

// WarnOnce logs each notice at WARN after the first sync, then returns.
func (s Setup) WarnOnce(ctx context.Context, logger *slog.Logger) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if ok, _ := s.Ready(); ok {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	notes, err := s.Notices(ctx)
	if err != nil {
		logger.Warn("check the roster against Help Scout's users", "err", err)
		return
	}
	for _, note := range notes {
		logger.Warn(note)
	}
}
