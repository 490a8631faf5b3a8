package team

import (
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// View is one consistent view of the team: the balancer's input and the
// people and conversations behind it.
type View struct {
	// Snapshot is the balancer's input.
	Snapshot balancer.Snapshot
	// Agents are the people of Snapshot.Agents, in the same order, without
	// the balancer's figures (Measure adds them).
	Agents []Agent
	// Conversations are the open conversations of Snapshot.Conversations
	// as the mirror holds them, in the same order.
	Conversations []store.OpenConversation
}

// DisplayName is how a Help Scout user is named on the page, in notes and
// in explanations: "First Last", or the email when Help Scout has no name.
func DisplayName(u store.User) string {
	name := strings.TrimSpace(u.First + " " + u.Last)
	if name == "" {
		return u.Email
	}
	return name
}

// removedName is the name of an assignee Help Scout no longer lists.
const removedName = "a removed user"

// Build converts the mirror's snapshot at now; a nil roster is
// roster.Default. Users the roster excludes stay in the snapshot as
// excluded so their tickets are never touched. An assignee Help Scout no
// longer lists (a removed user) becomes an unavailable front-line agent, so
// that their waiting tickets are handed on.
func Build(s store.Snapshot, r *roster.Roster, now time.Time) View {
	if r == nil {
		r = roster.Default()
	}
	status := make(map[int64]store.UserStatus, len(s.Statuses))
	for _, st := range s.Statuses {
		status[st.UserID] = st
	}
	v := View{Snapshot: balancer.Snapshot{Now: now,
		Agents:        make([]balancer.Agent, 0, len(s.Users)),
		Conversations: make([]balancer.Conversation, 0, len(s.Conversations))}}
	known := map[int64]bool{}
	var evidence []paceEvidence // the users' agents, in order
	for _, u := range s.Users {
		if u.Type == store.UserTypeTeam {
			continue
		}
		known[u.ID] = true
		prof := r.Lookup(u.ID, u.Email)
		st := status[u.ID]
		if u.OutOfScope {
			// The roster's hours describe this team: read in another
			// team's time zone they would call someone who is working
			// "off shift" and take their customer. Only Help Scout's own
			// Away says they are gone.
			prof.Schedule = nil
		}
		avail := prof.Available(now, u.Timezone, roster.Presence{Away: st.Status == "away", UpdatedAt: st.UpdatedAt})
		role := prof.Role
		if u.OutOfScope {
			role = outOfScopeRole(prof.Role, avail.Available)
			prof.Role = roster.RoleExclude // the page and the API: not this team
		}
		v.Snapshot.Agents = append(v.Snapshot.Agents, balancer.Agent{
			ID:                u.ID,
			Name:              DisplayName(u),
			Role:              balancer.Role(role),
			Capacity:          prof.Capacity,
			MaxOpen:           prof.MaxOpen,
			Available:         avail.Available,
			UnavailableSince:  avail.UnavailableSince,
			AvailableSince:    avail.AvailableSince,
			AvailableUntil:    avail.AvailableUntil,
			NextShiftAt:       avail.NextShiftAt,
			BackAt:            avail.BackAt,
			Mailboxes:         u.Mailboxes,
			Escalations:       prof.Escalations,
			RecentAssignments: s.RecentAssignments[u.ID],
		})
		ag := Agent{
			ID: u.ID, Name: DisplayName(u), Role: string(prof.Role), Level: prof.Level, Status: avail.Status,
			Available: avail.Available, Capacity: prof.Capacity, Unavailable: avail.UnavailableSince,
			BackAt: avail.BackAt, Mailboxes: u.Mailboxes, Escalations: prof.Escalations, MaxOpen: prof.MaxOpen,
			AvailableUntil: avail.AvailableUntil,
		}
		if role != prof.Role {
			ag.RulesRole = string(role)
		}
		v.Agents = append(v.Agents, ag)
		evidence = append(evidence, paceEvidence{role: role, capacity: prof.Capacity,
			hours: shiftHours(prof, u.Timezone, s.RepliesSince, now), replies: s.Replies[u.ID]})
	}
	for i, pace := range paces(evidence) {
		v.Snapshot.Agents[i].Pace, v.Agents[i].Pace = pace, pace
	}
	for _, c := range s.Conversations {
		if c.AssigneeID != 0 && !known[c.AssigneeID] {
			known[c.AssigneeID] = true
			v.Snapshot.Agents = append(v.Snapshot.Agents, balancer.Agent{
				ID: c.AssigneeID, Name: removedName, Role: balancer.RoleST, Capacity: 1,
			})
			v.Agents = append(v.Agents, Agent{ID: c.AssigneeID, Name: removedName, Role: string(roster.RoleST), Status: StatusRemoved, Capacity: 1})
		}
		v.Snapshot.Conversations = append(v.Snapshot.Conversations, toBalancerConversation(c))
	}
	v.Conversations = s.Conversations
	return v
}

// SnapshotFrom is Build's balancer input alone: what the daemon plans from,
// and what the simulation's queuewrangler policy plans from, so that it
// sees its world exactly as the daemon would.
func SnapshotFrom(s store.Snapshot, r *roster.Roster, now time.Time) balancer.Snapshot {
	return Build(s, r, now).Snapshot
}

// outOfScopeRole is the balancer's role for a user who can open none of
// the mirrored mailboxes (QW_MAILBOXES): another inbox's team, never counted
// in the split and never a target. A ticket of theirs in a mirrored mailbox
// (assigned before they lost access, or across teams) stays with them while
// they are available. Once Help Scout shows them Away they are an absent
// front-line agent, like a removed user, so that the away rule hands the
// waiting customer to this team after the grace period instead of leaving
// them with nobody who will answer. Being unavailable, they can never be a
// target. A roster entry that excludes them, or makes them the HoS, keeps
// their tickets where they are.
func outOfScopeRole(r roster.Role, available bool) roster.Role {
	if available || r != roster.RoleST && r != roster.RoleSST {
		return roster.RoleExclude
	}
	return r
}

func toBalancerConversation(c store.OpenConversation) balancer.Conversation {
	waiting := c.CustomerWaiting()
	bc := balancer.Conversation{
		ID:                  c.ID,
		Number:              c.Number,
		MailboxID:           c.MailboxID,
		Status:              balancer.Status(c.Status),
		AssigneeID:          c.AssigneeID,
		PreviousAssigneeID:  c.PreviousAssigneeID,
		CreatedAt:           c.CreatedAt,
		WaitingOnUs:         waiting,
		AgentReplied:        c.AgentReplied,
		LastAgentActivityAt: c.LastAgentActivityAt,
		LastMovedAt:         c.LastMovedAt,
		AssignedAt:          c.AssignedAt,
		Pinned:              c.Pinned,
	}
	if waiting {
		bc.CustomerWaitingSince = c.CustomerWaitStart()
	}
	return bc
}

// Measure runs balancer.Measure over the view's snapshot and returns the
// agents with its figures filled in, and the team's figures.
func (v View) Measure(p balancer.Policy) ([]Agent, balancer.Stats) {
	st := balancer.Measure(v.Snapshot, p)
	agents := v.withStats(st)
	cutoffs := dueCutoffs(v.Snapshot.Agents, p)
	kept := map[int64]map[int64]bool{} // owner -> their kept tickets
	owner := make(map[int64]int64, len(v.Snapshot.Conversations))
	for _, c := range v.Snapshot.Conversations {
		owner[c.ID] = c.AssigneeID
	}
	for id := range balancer.BacklogKeeps(v.Snapshot, p) {
		o := owner[id]
		if kept[o] == nil {
			kept[o] = map[int64]bool{}
		}
		kept[o][id] = true
	}
	for i := range agents {
		agents[i].HandOverBefore, agents[i].HandOverOngoing = cutoffs[agents[i].ID], p.HandOverOngoing
		agents[i].ShiftEndMargin = p.ShiftEndMargin
		agents[i].Kept, agents[i].Backlog = kept[agents[i].ID], p.Backlog
		agents[i].Cooldown, agents[i].RecentActivity = p.Cooldown, p.RecentActivity
		// As the balancer decides it (newModel's away); a zero time is
		// "longer than anyone remembers".
		agents[i].PastGrace = !agents[i].Available && v.Snapshot.Now.Sub(agents[i].Unavailable) >= p.AwayGrace
	}
	return agents, st
}

// withStats fills the balancer's figures, and each agent's oldest waiting
// customer, into a copy of the agents.
func (v View) withStats(st balancer.Stats) []Agent {
	byID := make(map[int64]balancer.AgentStats, len(st.Agents))
	for _, a := range st.Agents {
		byID[a.ID] = a
	}
	oldest := map[int64]time.Time{}
	for _, c := range v.Conversations {
		since := c.CustomerWaitStart()
		if c.AssigneeID == 0 || since.IsZero() {
			continue
		}
		if o, ok := oldest[c.AssigneeID]; !ok || since.Before(o) {
			oldest[c.AssigneeID] = since
		}
	}
	// The balancer measures only whom it balances: someone excluded by
	// the roster (or another inbox's user) is not in st.Agents, yet holds
	// tickets an SST must see, as the open-conversations metric shows.
	// Their counts are taken here, as the balancer counts (open: active or
	// pending; waiting: active with the customer waiting on us); load, fair
	// share and ratio stay zero, as they are outside the split and the
	// imbalance.
	unmeasured := map[int64]*balancer.AgentStats{}
	for _, a := range v.Agents {
		if _, ok := byID[a.ID]; !ok {
			unmeasured[a.ID] = &balancer.AgentStats{ID: a.ID}
		}
	}
	for _, c := range v.Snapshot.Conversations {
		u := unmeasured[c.AssigneeID]
		if u == nil {
			continue
		}
		switch c.Status {
		case balancer.StatusActive:
			u.Open++
			if c.WaitingOnUs {
				u.Waiting++
			}
		case balancer.StatusPending:
			u.Open++
		}
	}
	for id, u := range unmeasured {
		byID[id] = *u
	}
	out := make([]Agent, len(v.Agents))
	for i, a := range v.Agents {
		s := byID[a.ID]
		a.Open, a.Waiting, a.Load, a.FairShare, a.LoadRatio = s.Open, s.Waiting, s.Load, s.FairShare, s.LoadRatio
		a.OldestWait = oldest[a.ID]
		out[i] = a
	}
	return out
}
