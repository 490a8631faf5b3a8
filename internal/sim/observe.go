package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// What Help Scout shows of the world, in the shape the daemon's mirror
// keeps it: users, their Active/Away status, the open conversations with
// their derived facts. The queuewrangler policy and the scores read the
// world only through this.

const simMailbox = 1

// email is the simulated Help Scout address of team member i.
func email(i int, name string) string {
	local := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, name)
	return fmt.Sprintf("%s.%d@sim.example", local, i)
}

// rosterFor is the team as the daemon's roster (design.md section 7),
// built and validated by the daemon's own roster package, so that levels,
// capacities, schedules and time zones mean exactly what they mean to the
// daemon.
//
// withoutHours leaves the schedules out: see observe's shiftAsAway.
func rosterFor(sc *Scenario, withoutHours bool) (*roster.Roster, error) {
	entries := make([]roster.Entry, 0, len(sc.Team))
	for i, m := range sc.Team {
		e := roster.Entry{ID: agentID(i), Email: email(i, m.Name), Role: m.Role, Level: new(m.Level)}
		if !withoutHours {
			e.Hours, e.Timezone = m.Hours, m.Timezone
		}
		if m.Escalations {
			e.Escalations = new(true)
		}
		entries = append(entries, e)
	}
	r, err := roster.New(roster.Entry{Role: roster.RoleST, Level: new(roster.DefaultLevel)}, entries)
	if err != nil {
		return nil, fmt.Errorf("roster of scenario %s: %w", sc.Name, err)
	}
	return r, nil
}

// observe returns the account as the daemon's mirror would hold it now.
// recentWindow is how far back RecentAssignments counts moves (the
// balancer's AssignmentWindow).
//
// With shiftAsAway, being off shift is shown as Help Scout's Away status
// (since the end of the shift), for a roster without schedules: the
// availability is then the one already worked out from the schedules, and
// the conversion does not load time zones again at every sample.
func (w *world) observe(recentWindow time.Duration, shiftAsAway bool) store.Snapshot {
	now := w.at(w.now)
	s := store.Snapshot{TakenAt: now, RecentAssignments: map[int64]int{},
		Users:         make([]store.User, 0, len(w.agents)),
		Statuses:      make([]store.UserStatus, 0, len(w.agents)),
		Conversations: make([]store.OpenConversation, 0, len(w.open))}
	for _, a := range w.agents {
		s.Users = append(s.Users, store.User{ID: a.id, First: a.m.Name, Email: email(a.idx, a.m.Name),
			Role: "user", Timezone: "UTC", Type: store.UserTypeUser})
		st := store.UserStatus{UserID: a.id, Status: "active", Source: "ui"}
		if since, away := awaySince(a.m, w.now); away {
			st.Status, st.UpdatedAt = "away", w.at(since)
		} else if shiftAsAway && !a.available {
			st.Status, st.UpdatedAt = "away", w.at(a.offSince)
		}
		s.Statuses = append(s.Statuses, st)
		n := 0
		for _, at := range w.movesInto[a.idx] {
			if w.now-at < recentWindow {
				n++
			}
		}
		if n > 0 {
			s.RecentAssignments[a.id] = n
		}
	}
	for _, ti := range w.open {
		t := w.tickets[ti]
		if t.status == stClosed {
			continue
		}
		c := store.OpenConversation{
			ID: t.id, Number: t.id - 1_000_000 + 1, MailboxID: simMailbox,
			Status: store.StatusActive, CustomerID: 5_000_000 + int64(t.idx), CreatedByType: store.ByCustomer,
			CreatedAt: w.at(t.created), LastCustomerAt: w.at(t.lastCustomer),
			AgentReplied: t.done > 0, ThreadCount: 1 + 2*t.done,
		}
		if t.status == stPending {
			c.Status = store.StatusPending
		}
		if t.assignee >= 0 {
			c.AssigneeID = w.agents[t.assignee].id
		}
		if t.prevAssignee >= 0 {
			c.PreviousAssigneeID = w.agents[t.prevAssignee].id
		}
		if t.waiting {
			c.LastMessageBy = store.ByCustomer
			c.CustomerWaitingSince = w.at(t.waitingSince)
		} else {
			c.LastMessageBy = store.ByUser
		}
		if t.lastAgentAct != never {
			c.LastAgentActivityAt = w.at(t.lastAgentAct)
		}
		if t.lastMoved != never {
			c.LastMovedAt = w.at(t.lastMoved)
		}
		s.Conversations = append(s.Conversations, c)
	}
	s.Replies, s.RepliesSince = w.replies()
	return s
}

// replies counts each agent's replies as the daemon's snapshot counts them
// for the team's pace (store.SnapshotWindows.RepliedSince =
// now - team.PaceWindow): from the window's start, or from the first reply
// of the run when that is later, as from a mirror that young.
func (w *world) replies() (map[int64]int, time.Time) {
	first := never
	for _, a := range w.agents {
		if len(a.sent) > 0 && (first == never || a.sent[0] < first) {
			first = a.sent[0]
		}
	}
	out := map[int64]int{}
	if first == never {
		return out, time.Time{}
	}
	from := max(w.now-team.PaceWindow, first)
	for _, a := range w.agents {
		i, _ := slices.BinarySearch(a.sent, from)
		if n := len(a.sent) - i; n > 0 {
			out[a.id] = n
		}
	}
	return out, w.at(from)
}
