package mirror_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/mirror"
)

func TestStatsWriteTable(t *testing.T) {
	st := mirror.Stats{Pages: 3, Conversations: 70, Applied: 12, ThreadFetches: 4, Users: 9, Teams: 2, Mailboxes: 1, Statuses: 7}
	for _, tc := range []struct {
		name   string
		cursor time.Time
		want   string
	}{
		{"cursor stored", time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC), "cursor 2026-03-02T09:30:00Z"},
		{"nothing listed yet", time.Time{}, "cursor none yet (no conversation listed)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := st.WriteTable(&b, tc.cursor); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				got = append(got, strings.Join(strings.Fields(line), " "))
			}
			want := []string{"conversations listed 70", "conversations changed 12", "list pages 3", "thread lists fetched 4",
				"mailboxes 1", "users and teams 9", "teams 2", "user statuses 7", tc.want}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got, spacing collapsed):\n%s\nprinted:\n%s", d, b.String())
			}
		})
	}
}
