package team

import (
	"fmt"

	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// Notices names the mistakes of a setup that only Help Scout's user list
// reveals, one sentence each, for the log and the page: roster entries that
// match no user (so that person silently gets the defaults), two entries
// that match one user (so one of them silently does nothing), a roster
// that excludes everyone (so nobody is handed a ticket), and a team with
// no SST while stuck tickets are to be escalated to one. users is the
// mirror's directory after a sync; with none there is nothing to judge.
func Notices(users []store.User, r *roster.Roster, escalateStuck bool) []string {
	var ids []int64
	var emails []string
	hasSST, people, included := false, 0, 0
	for _, u := range users {
		if u.Type == store.UserTypeTeam {
			continue
		}
		ids, emails = append(ids, u.ID), append(emails, u.Email)
		if u.OutOfScope {
			continue
		}
		people++
		switch r.Lookup(u.ID, u.Email).Role {
		case roster.RoleExclude:
			continue
		case roster.RoleSST:
			hasSST = true
		}
		included++
	}
	if people == 0 {
		return nil
	}
	var out []string
	for _, where := range r.Unmatched(ids, emails) {
		out = append(out, fmt.Sprintf("The roster's %s matches no Help Scout user, so nobody gets its role and level: check its id or email (QW_ROSTER_FILE).", where))
	}
	for _, o := range r.Overlaps(ids, emails) {
		out = append(out, fmt.Sprintf("The roster's %s and %s both match Help Scout user %d: %s applies to them (an id match wins), not %s. Keep one of them (QW_ROSTER_FILE).", o.Used, o.Ignored, o.UserID, o.Used, o.Ignored))
	}
	switch {
	case included == 0:
		// Said instead of the missing SST, which is the least of it: the
		// balancer has nobody to split the work between.
		out = append(out, `The roster excludes every Help Scout user ("role": "exclude"), so queuewrangler will hand nobody a ticket: it moves and escalates nothing. Give the team its roles (QW_ROSTER_FILE).`)
	case escalateStuck && !hasSST:
		if r.Listed() == 0 {
			out = append(out, "No roster is configured (QW_ROSTER_FILE), so everyone is an ST and stuck tickets have no SST to be escalated to.")
		} else {
			out = append(out, `Nobody in the team is an SST, so stuck tickets have no one to be escalated to: give someone "role": "sst" in the roster (QW_ROSTER_FILE).`)
		}
	}
	return out
}
