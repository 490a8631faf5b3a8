package team_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// TestSetupNamesMailboxesHelpScoutDoesNotList: a QW_MAILBOXES id the
// account does not have mirrors nothing, so the page would show a quiet
// queue; the setup's notices say which ids, and whether nothing at all
// is mirrored.
func TestSetupNamesMailboxesHelpScoutDoesNotList(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "qw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.ReplaceMailboxes(ctx, []store.Mailbox{{ID: 10, Name: "Support"}, {ID: 11, Name: "Billing"}}); err != nil {
		t.Fatal(err)
	}
	ready := func() (bool, string) { return true, "" }
	tests := []struct {
		name      string
		mailboxes []int64
		want      string // "" for no mailbox notice
	}{
		{"every mailbox", nil, ""},
		{"listed ones", []int64{11, 10}, ""},
		{"one unknown", []int64{10, 999}, "QW_MAILBOXES names mailboxes this account does not have, or the API user cannot see (999): nothing is mirrored from them."},
		{"none known", []int64{999, 998}, "QW_MAILBOXES names only mailboxes this account does not have, or the API user cannot see (999, 998): nothing is mirrored, so the queue below is empty"},
	}
	for _, tt := range tests {
		s := team.Setup{DB: db, Roster: roster.Default(), Ready: ready, Mailboxes: tt.mailboxes}
		notes, err := s.Notices(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		i := slices.IndexFunc(notes, func(n string) bool { return strings.HasPrefix(n, "QW_MAILBOXES") })
		switch {
		case tt.want == "" && i >= 0:
			t.Errorf("%s: notice %q, want none about mailboxes", tt.name, notes[i])
		case tt.want != "" && (i < 0 || !strings.Contains(notes[i], tt.want)):
			t.Errorf("%s: notices %q, want one saying %q", tt.name, notes, tt.want)
		}
	}
}
