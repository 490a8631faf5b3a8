package mirror

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable prints a sync's figures for a person, as `queuewrangler sync`
// does, ending with where the conversation cursor stands (zero: no
// conversation listed yet).
func (s Stats) WriteTable(w io.Writer, cursor time.Time) error {
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
