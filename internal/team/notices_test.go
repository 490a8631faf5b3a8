package team

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

func TestNotices(t *testing.T) {
	t.Parallel()
	users := []store.User{
		{ID: 1, Email: "ana@acme.example"},
		{ID: 2, Email: "Sam@Acme.example"},
		{ID: 3, Email: "other@acme.example", OutOfScope: true},
		{ID: 9, Email: "", Type: store.UserTypeTeam},
	}
	parse := func(doc string) *roster.Roster {
		t.Helper()
		r, err := roster.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	const noSST = `Nobody in the team is an SST, so stuck tickets have no one to be escalated to: give someone "role": "sst" in the roster (QW_ROSTER_FILE).`
	tests := []struct {
		name     string
		users    []store.User
		roster   *roster.Roster
		escalate bool
		want     []string
	}{
		{"all matched, an SST", users, parse(`{"agents": [{"id": 1}, {"email": "sam@acme.example", "role": "sst"}, {"id": 3}]}`), true, nil},
		{"a typo in an email", users, parse(`{"agents": [{"email": "sam@acme.exmaple", "role": "sst"}, {"id": 77, "email": "ana@acme.example"}]}`), true, []string{
			"The roster's agents[0] (sam@acme.exmaple) matches no Help Scout user, so nobody gets its role and level: check its id or email (QW_ROSTER_FILE).",
			noSST,
		}},
		{"one person by id and by email", users, parse(`{"agents": [{"id": 1, "role": "sst"}, {"email": "ANA@acme.example", "role": "exclude"}, {"id": 2, "email": "sam@acme.example"}]}`), true, []string{
			"The roster's agents[0] (id 1) and agents[1] (ANA@acme.example) both match Help Scout user 1: agents[0] (id 1) applies to them (an id match wins), not agents[1] (ANA@acme.example). Keep one of them (QW_ROSTER_FILE).",
		}},
		{"no roster", users, roster.Default(), true, []string{
			"No roster is configured (QW_ROSTER_FILE), so everyone is an ST and stuck tickets have no SST to be escalated to.",
		}},
		{"no roster, no escalation", users, roster.Default(), false, nil},
		{"an SST out of scope does not count", users, parse(`{"agents": [{"id": 3, "role": "sst"}]}`), true, []string{noSST}},
		// It said only that nobody is an SST, as if tickets still went to someone.
		{"everyone excluded", users, parse(`{"agents": [{"id": 1, "role": "exclude"}, {"id": 2, "role": "exclude"}]}`), true, []string{
			`The roster excludes every Help Scout user ("role": "exclude"), so queuewrangler will hand nobody a ticket: it moves and escalates nothing. Give the team its roles (QW_ROSTER_FILE).`,
		}},
		{"nothing synced yet", nil, parse(`{"agents": [{"id": 42}]}`), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Notices(tt.users, tt.roster, tt.escalate)); diff != "" {
				t.Errorf("notices (-want +got):\n%s", diff)
			}
		})
	}
}
