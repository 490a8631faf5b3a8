package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// WriteSyncTable prints the figures of a sync (st) for a person, as
// `queuewrangler sync` does, ending with where the conversation cursor
// stands now.
func (m *Mirror) WriteSyncTable(ctx context.Context, w io.Writer, st Stats) error {
	cur, err := m.db.Cursor(ctx, CursorConversations)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read sync cursor: %w", err)
	}
	return st.writeTable(w, cur.Value)
}

// writeTable prints the figures and cursor (zero: no conversation listed
// yet).
func (s Stats) writeTable(w io.Writer, cursor time.Time) error {
	at := "none yet (no conversation listed)"
	if !cursor.IsZero() {
		at = cursor.Format(time.RFC3339)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "conversations listed\t%d\n", s.Conversations)
	fmt.Fprintf(tw, "conversations changed\t%d\n", s.Applied)
	fmt.Fprintf(tw, "list pages\t%d\n", s.Pages)
	fmt.Fprintf(tw, "thread lists fetched\t%d\n", s.ThreadFetches)
	fmt.Fprintf(tw, "mailboxes\t%d\n", s.Mailboxes)
	fmt.Fprintf(tw, "users and teams\t%d\n", s.Users)
	fmt.Fprintf(tw, "teams\t%d\n", s.Teams)
	fmt.Fprintf(tw, "user statuses\t%d\n", s.Statuses)
	fmt.Fprintf(tw, "cursor\t%s\n", at)
	return tw.Flush()
}
