package store

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceDirectoryUpsertsAndDeletesMissing(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(db.ReplaceMailboxes(ctx, []Mailbox{{ID: 1, Name: "a"}, {ID: 2, Name: "b"}}))
	must(db.ReplaceMailboxes(ctx, []Mailbox{{ID: 2, Name: "b2", Email: "b@example.com", Slug: "bb"}, {ID: 3, Name: "c"}}))
	mbs, err := db.Mailboxes(ctx)
	must(err)
	if diff := cmp.Diff([]Mailbox{{ID: 2, Name: "b2", Email: "b@example.com", Slug: "bb"}, {ID: 3, Name: "c"}}, mbs); diff != "" {
		t.Errorf("mailboxes (-want +got):\n%s", diff)
	}

	must(db.ReplaceUsers(ctx, []User{{ID: 1, First: "A"}, {ID: 2, First: "B"}}))
	must(db.ReplaceUsers(ctx, []User{{ID: 2, First: "B2", UpdatedAt: t0, OutOfScope: true, Mailboxes: []int64{}},
		{ID: 3, First: "C", Mailboxes: []int64{7, 3000000000}}, {ID: 5, First: "Team", Type: UserTypeTeam}}))
	us, err := db.Users(ctx)
	must(err)
	wantUsers := []User{{ID: 2, First: "B2", Type: UserTypeUser, UpdatedAt: t0, OutOfScope: true, Mailboxes: []int64{}},
		{ID: 3, First: "C", Type: UserTypeUser, Mailboxes: []int64{7, 3000000000}}, {ID: 5, First: "Team", Type: UserTypeTeam}}
	if diff := cmp.Diff(wantUsers, us); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}

	must(db.ReplaceTeams(ctx, []Team{{ID: 5, Name: "t5", Members: []int64{1, 2}}, {ID: 6, Name: "t6", Members: []int64{3}}}))
	must(db.ReplaceTeams(ctx, []Team{{ID: 5, Name: "t5", Timezone: "UTC", Members: []int64{2, 4, 4}}}))
	ts, err := db.Teams(ctx)
	must(err)
	if diff := cmp.Diff([]Team{{ID: 5, Name: "t5", Timezone: "UTC", Members: []int64{2, 4}}}, ts); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
	var orphans int
	must(db.read.QueryRow("SELECT COUNT(*) FROM team_members WHERE team_id = 6").Scan(&orphans))
	if orphans != 0 {
		t.Errorf("members of a deleted team remain: %d", orphans)
	}

	must(db.ReplaceUserStatuses(ctx, []UserStatus{{UserID: 1, Status: "away"}, {UserID: 2, Status: "active"}}))
	must(db.ReplaceUserStatuses(ctx, []UserStatus{{UserID: 2, Status: "away", UpdatedAt: t0, Source: "api"}}))
	ss, err := db.UserStatuses(ctx)
	must(err)
	if diff := cmp.Diff([]UserStatus{{UserID: 2, Status: "away", UpdatedAt: t0, Source: "api"}}, ss); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	// An empty list empties the table.
	must(db.ReplaceMailboxes(ctx, nil))
	if mbs, _ := db.Mailboxes(ctx); len(mbs) != 0 {
		t.Errorf("mailboxes after an empty replace = %v", mbs)
	}
}
