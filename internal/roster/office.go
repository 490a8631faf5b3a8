package roster

import (
	"fmt"
	"strings"
	"time"
)

// OfficeHours are the hours a support team counts response times in
// (QW_OFFICE_HOURS), as Help Scout's own reports can: the roster's shift
// syntax followed by one IANA time zone, "Mon-Fri 09:00-17:00
// America/New_York" or "Mon-Thu 09:00-17:00; Fri 09:00-13:00 Europe/Berlin".
// The zero value is "not set". Elapsed is the one place the office-hours
// arithmetic lives: the live histograms and any later reading of the
// mirror's history must agree to the second.
type OfficeHours struct {
	schedule *Schedule
	loc      *time.Location
	text     string
}

// ParseOfficeHours reads a QW_OFFICE_HOURS value. Empty text is the zero
// OfficeHours and no error. The time zone is required: a team that forgets
// it would otherwise count in the server's zone without noticing.
func ParseOfficeHours(text string) (OfficeHours, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return OfficeHours{}, nil
	}
	cut := strings.LastIndexAny(text, " \t")
	zone := text[cut+1:]
	if cut < 0 || strings.Contains(zone, ":") {
		return OfficeHours{}, fmt.Errorf("%q ends without a time zone (example: Mon-Fri 09:00-17:00 America/New_York)", text)
	}
	if zone == "Local" {
		// time.LoadLocation accepts it, but it means whatever zone the
		// machine runs in, which differs between a laptop and a container.
		return OfficeHours{}, fmt.Errorf("%q: name the time zone (for example Europe/Berlin or UTC), not Local", text)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return OfficeHours{}, fmt.Errorf("%q: %q is not an IANA time zone (examples: America/New_York, Europe/Berlin, UTC)", text, zone)
	}
	s, err := ParseSchedule(text[:cut])
	if err != nil {
		return OfficeHours{}, err
	}
	return OfficeHours{schedule: s, loc: loc, text: text}, nil
}

// IsSet reports whether office hours were configured.
func (o OfficeHours) IsSet() bool { return o.schedule != nil }

// Location is the office hours' time zone; nil when they are not set.
// The Slack digest is sent in it unless QW_SLACK_DIGEST_AT names its own.
func (o OfficeHours) Location() *time.Location { return o.loc }

// String returns the office hours as written.
func (o OfficeHours) String() string { return o.text }

// Elapsed is the time between from and to that falls inside office hours:
// a message on Friday evening answered on Monday at 10:00 has waited one
// office hour. Days on which daylight saving time starts or ends count
// their real length (Schedule.TimeOnShift). Without office hours it is 0.
func (o OfficeHours) Elapsed(from, to time.Time) time.Duration {
	if o.schedule == nil {
		return 0
	}
	return o.schedule.TimeOnShift(from, to, o.loc)
}
