package team

import (
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// PaceWindow is how far back an agent's pace looks: two weeks hold every
// weekday twice, and are short enough to follow someone getting faster.
const PaceWindow = 14 * 24 * time.Hour

// pacePriorHours is how much the prior weighs, in working hours of
// evidence: after about two working days an agent's own replies count as
// much as their level says, and two replies in a first hour make nobody a
// genius.
const pacePriorHours = 16.0

// fullTimeShare is the share of the window someone without roster hours
// is taken to have worked: a 40-hour week of 168 hours.
const fullTimeShare = 40.0 / (7 * 24)

// paceEvidence is what one agent's pace is learned from.
type paceEvidence struct {
	role     balancer.Role
	capacity float64
	hours    float64 // on shift in the window
	replies  int
}

// shiftHours is how long the profile had someone on shift from since to
// now: the roster's hours, or a full-time share of the window for someone
// without hours.
func shiftHours(p roster.Profile, userTZ string, since, now time.Time) float64 {
	if since.IsZero() || !now.After(since) {
		return 0
	}
	d, ok := p.TimeOnShift(since, now, userTZ)
	if !ok {
		return now.Sub(since).Hours() * fullTimeShare
	}
	return d.Hours()
}

// paces estimates each agent's replies per working hour (balancer.Agent's
// Pace; 0 = unknown). The prior of an agent is their capacity weight (their
// level's, the README's roster section) times the team's rate per unit of capacity:
// the front line's replies over its capacity-weighted hours. Each agent's
// own history then moves them away from it as a Gamma-Poisson posterior
// mean would: (replies + prior × k) / (hours + k), with k =
// pacePriorHours. With no replies in the window at all the team's rate is
// unknown, and so is everyone's pace. Excluded users get none: they are
// not part of this team.
func paces(team []paceEvidence) []float64 {
	out := make([]float64, len(team))
	var replies, weightedHours float64
	for _, a := range team {
		if a.role == balancer.RoleST || a.role == balancer.RoleSST {
			replies += float64(a.replies)
			weightedHours += a.capacity * a.hours
		}
	}
	if replies == 0 || weightedHours == 0 {
		return out
	}
	rate := replies / weightedHours
	for i, a := range team {
		if a.role == balancer.RoleExclude {
			continue
		}
		prior := a.capacity * rate
		out[i] = (float64(a.replies) + prior*pacePriorHours) / (a.hours + pacePriorHours)
	}
	return out
}
