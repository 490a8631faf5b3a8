package roster

import (
	"sync"
	"time"
)

// Presence is Help Scout's own Active/Away status of a user.
type Presence struct {
	Away      bool
	UpdatedAt time.Time // when the status last changed; zero if unknown
}

// The statuses of Availability: the words the queue page, the JSON API and
// the metrics show for a person, so they are part of the API.
const (
	StatusActive   = "active"    // can take tickets now
	StatusAway     = "away"      // Away in Help Scout: no known return
	StatusOffShift = "off-shift" // outside the roster's hours
)

// Availability says whether a person can take tickets now, since when they
// have not been able to (for the away grace period) and, when they are merely
// off shift, when their next shift starts.
type Availability struct {
	Available        bool
	Status           string // StatusActive, StatusAway or StatusOffShift
	UnavailableSince time.Time
	// AvailableSince is when someone available became so: the start of
	// their shift (shifts that touch are one, Schedule.Shift), or when they
	// turned Active in Help Scout if later; zero when unknown (no hours, or
	// hours that never stop, and no known status change).
	AvailableSince time.Time
	// AvailableUntil is when the shift of someone available ends; zero when
	// open-ended (no hours, or hours that never stop: Mon-Sun 00:00-24:00).
	// Zero never means "left long ago": readers take it as "not leaving".
	AvailableUntil time.Time
	// NextShiftAt is, for someone available, when their next shift starts
	// after this one ends; zero when open-ended or none starts in the
	// coming week.
	NextShiftAt time.Time
	// BackAt is the start of the next shift of someone off shift; zero when
	// they are available, away in Help Scout (an absence of unknown length)
	// or have no shift in the coming week.
	BackAt time.Time
}

// Available combines the roster's hours with Help Scout's status. userTZ is
// the Help Scout user's time zone, used when the roster names none.
func (p Profile) Available(now time.Time, userTZ string, presence Presence) Availability {
	if presence.Away {
		return Availability{Status: StatusAway, UnavailableSince: presence.UpdatedAt}
	}
	var since, until, next time.Time
	if p.Schedule != nil {
		tz := p.Timezone
		if tz == "" {
			tz = userTZ
		}
		loc := location(tz)
		if on, since := p.Schedule.OnShift(now, loc); !on {
			return Availability{Status: StatusOffShift, UnavailableSince: since, BackAt: p.Schedule.NextShiftStart(now, loc)}
		}
		since, until, _ = p.Schedule.Shift(now, loc)
		if !until.IsZero() {
			// Shift joins touching shifts, so none starts at until: this
			// is the first start after a break.
			next = p.Schedule.NextShiftStart(until, loc)
		}
	}
	if presence.UpdatedAt.After(since) && !presence.UpdatedAt.After(now) {
		since = presence.UpdatedAt
	}
	return Availability{Available: true, Status: StatusActive, AvailableSince: since, AvailableUntil: until, NextShiftAt: next}
}

// TimeOnShift is how long the roster's hours had the person on shift
// between from and to, read in the roster's time zone or else userTZ; ok
// is false for someone without hours, of whom the roster cannot say.
func (p Profile) TimeOnShift(from, to time.Time, userTZ string) (d time.Duration, ok bool) {
	if p.Schedule == nil {
		return 0, false
	}
	tz := p.Timezone
	if tz == "" {
		tz = userTZ
	}
	return p.Schedule.TimeOnShift(from, to, location(tz)), true
}

// locations caches time.LoadLocation, which reads and parses the zone file
// on every call: the daemon and the simulator ask for every agent at every
// run, and profiling the simulator found half its time there. A
// *time.Location is immutable and a zone name always means the same zone
// within a process, so the cache holds no state anyone can observe: it only
// remembers answers. It is keyed by the names of zones that loaded, which
// are the team's few time zones; a name that fails is not kept (it falls
// back to UTC, as before, and costs a lookup each time).
var locations sync.Map // string -> *time.Location

// location returns the named zone, or UTC for "" or a name that does not
// load.
func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	locations.Store(name, l)
	return l
}
