package rebalance

import (
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// AgentView is one person as the page, the JSON API and the metrics see
// them: roster facts, Help Scout status, and the balancer's figures.
type AgentView struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Level       int       `json:"level"`
	Status      string    `json:"status"` // active, away, off-shift
	Available   bool      `json:"available"`
	Open        int       `json:"open"`
	Waiting     int       `json:"waiting"`
	Load        float64   `json:"weighted_load"`
	Capacity    float64   `json:"capacity"`
	FairShare   float64   `json:"fair_share"`
	LoadRatio   float64   `json:"load_ratio"`
	OldestWait  time.Time `json:"oldest_wait,omitzero"`
	Unavailable time.Time `json:"unavailable_since,omitzero"`
	// BackAt is when someone off shift starts their next shift; zero for
	// the available, the away (no known return) and those without hours.
	BackAt time.Time `json:"back_at,omitzero"`
}

// team is one consistent view: the balancer's input and the people behind it.
type team struct {
	snapshot balancer.Snapshot
	views    []AgentView // by id, balancer figures not yet filled in
	convs    []store.OpenConversation
}

func userName(u store.User) string {
	name := strings.TrimSpace(u.First + " " + u.Last)
	if name == "" {
		return u.Email
	}
	return name
}

// buildTeam converts the store's snapshot. Users the roster excludes stay
// in the snapshot as excluded so their tickets are never touched. An
// assignee Help Scout no longer lists (a removed user) becomes an
// unavailable front-line agent, so that their waiting tickets are handed on.
func buildTeam(s store.Snapshot, r *roster.Roster, now time.Time) team {
	status := make(map[int64]store.UserStatus, len(s.Statuses))
	for _, st := range s.Statuses {
		status[st.UserID] = st
	}
	var t team
	t.snapshot.Now = now
	known := map[int64]bool{}
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
		t.snapshot.Agents = append(t.snapshot.Agents, balancer.Agent{
			ID:                u.ID,
			Name:              userName(u),
			Role:              balancer.Role(role),
			Capacity:          prof.Capacity,
			MaxOpen:           prof.MaxOpen,
			Available:         avail.Available,
			UnavailableSince:  avail.UnavailableSince,
			AvailableSince:    avail.AvailableSince,
			AvailableUntil:    avail.AvailableUntil,
			BackAt:            avail.BackAt,
			Mailboxes:         u.Mailboxes,
			Escalations:       prof.Escalations,
			RecentAssignments: s.RecentAssignments[u.ID],
		})
		t.views = append(t.views, AgentView{
			ID: u.ID, Name: userName(u), Role: string(prof.Role), Level: prof.Level, Status: avail.Status,
			Available: avail.Available, Capacity: prof.Capacity, Unavailable: avail.UnavailableSince,
			BackAt: avail.BackAt,
		})
	}
	for _, c := range s.Conversations {
		if c.AssigneeID != 0 && !known[c.AssigneeID] {
			known[c.AssigneeID] = true
			t.snapshot.Agents = append(t.snapshot.Agents, balancer.Agent{
				ID: c.AssigneeID, Name: "a removed user", Role: balancer.RoleST, Capacity: 1,
			})
			t.views = append(t.views, AgentView{ID: c.AssigneeID, Name: "a removed user", Role: string(roster.RoleST), Status: "removed", Capacity: 1})
		}
		t.snapshot.Conversations = append(t.snapshot.Conversations, toBalancerConversation(c))
	}
	t.convs = s.Conversations
	return t
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
		bc.CustomerWaitingSince = c.CustomerWaitingSince
		if bc.CustomerWaitingSince.IsZero() {
			bc.CustomerWaitingSince = c.LastCustomerAt
		}
	}
	return bc
}

// withStats fills the balancer's figures into the views.
func withStats(views []AgentView, st balancer.Stats, convs []store.OpenConversation) []AgentView {
	byID := make(map[int64]balancer.AgentStats, len(st.Agents))
	for _, a := range st.Agents {
		byID[a.ID] = a
	}
	oldest := map[int64]time.Time{}
	for _, c := range convs {
		if c.AssigneeID == 0 || !c.CustomerWaiting() {
			continue
		}
		if o, ok := oldest[c.AssigneeID]; !ok || c.CustomerWaitingSince.Before(o) {
			oldest[c.AssigneeID] = c.CustomerWaitingSince
		}
	}
	out := make([]AgentView, len(views))
	for i, v := range views {
		a := byID[v.ID]
		v.Open, v.Waiting, v.Load, v.FairShare, v.LoadRatio = a.Open, a.Waiting, a.Load, a.FairShare, a.LoadRatio
		v.OldestWait = oldest[v.ID]
		out[i] = v
	}
	return out
}

// SnapshotFrom is the conversion the daemon uses from the mirror's snapshot
// to the balancer's input. The simulator calls it too, so that its
// queuewrangler policy sees the world exactly as the daemon would.
func SnapshotFrom(s store.Snapshot, r *roster.Roster, now time.Time) balancer.Snapshot {
	if r == nil {
		r = roster.Default()
	}
	return buildTeam(s, r, now).snapshot
}
