package balancer

import (
	"fmt"
	"strings"
)

// RoutingMode says who makes first assignments (QW_ROUTING, design.md
// section 8). It is declared here, beside Route and Rotation, because the
// daemon and the simulation both choose between them by it.
type RoutingMode string

// The routing modes.
const (
	// RoutingHelpScout leaves first assignments to the inbox's routing as
	// configured; the daemon hands out what routing leaves in the
	// Unassigned folder and rebalances.
	RoutingHelpScout RoutingMode = "helpscout"
	// RoutingSteer keeps the inbox's rotation (userIds) to the people
	// Rotation picks, within the admin's set.
	RoutingSteer RoutingMode = "steer"
	// RoutingOwn has the inbox's routing off; the daemon assigns each new
	// conversation itself through Route.
	RoutingOwn RoutingMode = "own"
)

// routingModes lists every routing mode, from the one that does least.
func routingModes() []RoutingMode {
	return []RoutingMode{RoutingHelpScout, RoutingSteer, RoutingOwn}
}

// ParseRoutingMode returns the routing mode named s, or an error naming
// the modes there are.
func ParseRoutingMode(s string) (RoutingMode, error) {
	names := make([]string, 0, 3)
	for _, m := range routingModes() {
		if string(m) == s {
			return m, nil
		}
		names = append(names, string(m))
	}
	return "", fmt.Errorf("%q is not one of %s", s, strings.Join(names, ", "))
}
