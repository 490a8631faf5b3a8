package roster

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteSummary writes what the roster makes of the team, for an operator
// checking an edit before a restart: how many people it names by role,
// what everyone else gets, and each entry as it will apply (role, level,
// capacity, cap, escalations, shift and zone). Whether an entry matches a
// Help Scout user only the account can tell: the daemon says so after its
// first sync.
func (r *Roster) WriteSummary(w io.Writer) error {
	counts := map[Role]int{}
	for _, l := range r.listed {
		counts[r.Lookup(l.id, l.email).Role]++
	}
	var byRole []string
	for _, role := range []Role{RoleSST, RoleST, RoleHoS, RoleExclude} {
		if counts[role] > 0 {
			byRole = append(byRole, fmt.Sprintf("%d %s", counts[role], role))
		}
	}
	if len(byRole) == 0 {
		byRole = []string{"nobody"}
	}
	fmt.Fprintf(w, "  %d listed: %s\n", len(r.listed), strings.Join(byRole, ", "))
	fmt.Fprintf(w, "  everyone else: %s\n", describeProfile(r.defaults))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, l := range r.listed {
		fmt.Fprintf(tw, "  %s\t%s\n", l.where, describeProfile(r.Lookup(l.id, l.email)))
	}
	return tw.Flush()
}

// describeProfile says in one line what a profile means for the balancer.
func describeProfile(p Profile) string {
	if p.Role == RoleExclude {
		return "exclude: ignored, tickets never touched"
	}
	parts := []string{fmt.Sprintf("%s, level %d, capacity %g", p.Role, p.Level, p.Capacity)}
	if p.MaxOpen > 0 {
		parts = append(parts, fmt.Sprintf("at most %d open", p.MaxOpen))
	}
	if p.Role == RoleHoS {
		parts = append(parts, map[bool]string{true: "takes stuck-ticket escalations", false: "no tickets, no escalations"}[p.Escalations])
	}
	zone := "the user's Help Scout time zone"
	if p.Timezone != "" {
		zone = p.Timezone
	}
	switch {
	case p.Schedule != nil:
		parts = append(parts, fmt.Sprintf("on shift %s (%s)", p.Schedule, zone))
	default:
		parts = append(parts, "no hours: on shift whenever Help Scout shows them Active")
	}
	return strings.Join(parts, ", ")
}
