package team

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
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
	// Mailboxes is QW_MAILBOXES: a mailbox it names that Help Scout does
	// not list mirrors nothing, and the page would show a quiet queue.
	Mailboxes []int64
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
	out := Notices(users, s.Roster, s.EscalateStuck)
	if len(s.Mailboxes) == 0 {
		return out, nil
	}
	mailboxes, err := s.DB.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	if note := unknownMailboxes(s.Mailboxes, mailboxes); note != "" {
		out = append([]string{note}, out...)
	}
	return out, nil
}

// unknownMailboxes says which of QW_MAILBOXES Help Scout does not list,
// "" when it lists them all.
func unknownMailboxes(named []int64, listed []store.Mailbox) string {
	var missing []string
	for _, id := range named {
		if !slices.ContainsFunc(listed, func(mb store.Mailbox) bool { return mb.ID == id }) {
			missing = append(missing, strconv.FormatInt(id, 10))
		}
	}
	switch {
	case len(missing) == 0:
		return ""
	case len(missing) == len(named):
		return fmt.Sprintf("QW_MAILBOXES names only mailboxes this account does not have, or the API user cannot see (%s): nothing is mirrored, so the queue below is empty whatever waits in Help Scout. Check the ids in the inbox's URL.", strings.Join(missing, ", "))
	}
	return fmt.Sprintf("QW_MAILBOXES names mailboxes this account does not have, or the API user cannot see (%s): nothing is mirrored from them. Check the ids in the inbox's URL.", strings.Join(missing, ", "))
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
