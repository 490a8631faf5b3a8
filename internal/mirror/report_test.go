package mirror_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
)

func TestWriteSyncTable(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 30})
	m := e.mirror(mirror.Options{})
	st := mirror.Stats{Pages: 3, Conversations: 70, Applied: 12, ThreadFetches: 4, Users: 9, Teams: 2, Mailboxes: 1, Statuses: 7}
	table := func() string {
		t.Helper()
		var b strings.Builder
		if err := m.WriteSyncTable(context.Background(), &b, st); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	const figures = `conversations listed   70
conversations changed  12
list pages             3
thread lists fetched   4
mailboxes              1
users and teams        9
teams                  2
user statuses          7
`
	if d := cmp.Diff(figures+"cursor                 none yet (no conversation listed)\n", table()); d != "" {
		t.Errorf("before any sync (-want +got):\n%s", d)
	}
	syncOnce(t, m)
	cur, err := e.db.Cursor(context.Background(), mirror.CursorConversations)
	if err != nil || cur.Value.IsZero() {
		t.Fatalf("no cursor after a sync: %v", err)
	}
	if d := cmp.Diff(figures+"cursor                 "+cur.Value.Format(time.RFC3339)+"\n", table()); d != "" {
		t.Errorf("after a sync (-want +got):\n%s", d)
	}
}
