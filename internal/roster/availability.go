package roster

import "time"

// Presence is Help Scout's own Active/Away status of a user.
type Presence struct {
	Away      bool
	UpdatedAt time.Time // when the status last changed; zero if unknown
}

// Availability says whether a person can take tickets now, and since when
// they have not been able to (for the away grace period).
type Availability struct {
	Available        bool
	Status           string // "active", "away" or "off-shift"
	UnavailableSince time.Time
}

// Available combines the roster's hours with Help Scout's status. userTZ is
// the Help Scout user's time zone, used when the roster names none.
func (p Profile) Available(now time.Time, userTZ string, presence Presence) Availability {
	if presence.Away {
		return Availability{Status: "away", UnavailableSince: presence.UpdatedAt}
	}
	if p.Schedule != nil {
		loc := time.UTC
		tz := p.Timezone
		if tz == "" {
			tz = userTZ
		}
		if l, err := time.LoadLocation(tz); err == nil && tz != "" {
			loc = l
		}
		if on, since := p.Schedule.OnShift(now, loc); !on {
			return Availability{Status: "off-shift", UnavailableSince: since}
		}
	}
	return Availability{Available: true, Status: "active"}
}
