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
	table := func(st mirror.Stats) []string {
		t.Helper()
		var b strings.Builder
		if err := m.WriteSyncTable(context.Background(), &b, st); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			lines = append(lines, strings.Join(strings.Fields(line), " "))
		}
		return lines
	}
	figures := []string{"conversations listed 70", "conversations changed 12", "list pages 3", "thread lists fetched 4",
		"mailboxes 1", "users and teams 9", "teams 2", "user statuses 7"}
	st := mirror.Stats{Pages: 3, Conversations: 70, Applied: 12, ThreadFetches: 4, Users: 9, Teams: 2, Mailboxes: 1, Statuses: 7}
	if d := cmp.Diff(append(figures, "cursor none yet (no conversation listed)"), table(st)); d != "" {
		t.Errorf("before any sync (-want +got, spacing collapsed):\n%s", d)
	}

	syncOnce(t, m)
	got := table(st)
	cursor, err := time.Parse(time.RFC3339, strings.TrimPrefix(got[len(got)-1], "cursor "))
	if err != nil || cursor.IsZero() || cursor.After(e.clock.Now()) {
		t.Errorf("after a sync the last line is %q, want the cursor as an RFC 3339 time no later than now", got[len(got)-1])
	}
	if d := cmp.Diff(figures, got[:len(got)-1]); d != "" {
		t.Errorf("after a sync (-want +got):\n%s", d)
	}
}
