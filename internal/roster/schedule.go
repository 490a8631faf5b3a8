package roster

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Schedule is a weekly set of shifts, e.g. "Mon-Fri 09:00-17:00" or
// "Mon-Thu 08:00-16:00; Fri 08:00-12:00". A shift whose end is before its
// start runs past midnight ("Sat,Sun 22:00-06:00"). Shifts that touch or
// overlap are one continuous shift (Shift): "Mon 22:00-24:00; Tue
// 00:00-06:00" is one night, "Mon-Sun 00:00-24:00" never ends.
type Schedule struct {
	shifts []shift
	text   string
}

type shift struct {
	days       [7]bool // indexed by time.Weekday: the day the shift starts
	start, end int     // minutes after midnight
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseSchedule parses shifts separated by ";".
func ParseSchedule(text string) (*Schedule, error) {
	s := &Schedule{text: text}
	for _, clause := range strings.Split(text, ";") {
		clause = strings.TrimSpace(clause)
		if clause == "" {
			continue
		}
		fields := strings.Fields(clause)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%q is not \"Days HH:MM-HH:MM\" (example: Mon-Fri 09:00-17:00; shifts are separated by \";\", as in Mon-Fri 09:00-17:00; Sat 10:00-14:00)", clause)
		}
		sh, err := parseDays(fields[0])
		if err != nil {
			return nil, err
		}
		if sh.start, sh.end, err = parseSpan(fields[1]); err != nil {
			return nil, err
		}
		s.shifts = append(s.shifts, sh)
	}
	if len(s.shifts) == 0 {
		return nil, fmt.Errorf("%q has no shifts", text)
	}
	return s, nil
}

func parseDays(text string) (shift, error) {
	var sh shift
	for _, part := range strings.Split(text, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, ok := dayNames[strings.ToLower(from)]
		if !ok {
			return sh, fmt.Errorf("%q is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", from)
		}
		b := a
		if isRange {
			if b, ok = dayNames[strings.ToLower(to)]; !ok {
				return sh, fmt.Errorf("%q is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)", to)
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			sh.days[d] = true
			if d == b {
				break
			}
		}
	}
	return sh, nil
}

func parseSpan(text string) (start, end int, err error) {
	a, b, ok := strings.Cut(text, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not a time span like 09:00-17:00", text)
	}
	if start, err = parseClock(a); err != nil {
		return 0, 0, err
	}
	if end, err = parseClock(b); err != nil {
		return 0, 0, err
	}
	if start == end {
		// Whoever writes 00:00-00:00 most likely means the whole day,
		// which has its own spelling.
		return 0, 0, fmt.Errorf("%q is an empty shift (a whole day is 00:00-24:00)", text)
	}
	return start, end, nil
}

func parseClock(text string) (int, error) {
	t, err := time.Parse("15:04", text)
	if err != nil {
		if text == "24:00" {
			return 24 * 60, nil
		}
		return 0, fmt.Errorf("%q is not a time of day like 09:00", text)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// String returns the schedule as written.
func (s *Schedule) String() string { return s.text }

// window returns the shift intervals that touch the local day of t and the
// day before (for shifts past midnight).
func (s *Schedule) windows(t time.Time) [][2]time.Time {
	var out [][2]time.Time
	y, m, d := t.Date()
	for back := 7; back >= 0; back-- {
		day := time.Date(y, m, d-back, 0, 0, 0, 0, t.Location())
		for _, sh := range s.shifts {
			if !sh.days[day.Weekday()] {
				continue
			}
			out = append(out, sh.on(day))
		}
	}
	return out
}

// OnShift reports whether t falls in a shift, read in loc, and when the
// agent last went off shift if not (zero if no shift ended in the past week).
func (s *Schedule) OnShift(t time.Time, loc *time.Location) (on bool, offSince time.Time) {
	local := t.In(loc)
	for _, w := range s.windows(local) {
		if !local.Before(w[0]) && local.Before(w[1]) {
			return true, time.Time{}
		}
		if !w[1].After(local) && w[1].After(offSince) {
			offSince = w[1]
		}
	}
	return false, offSince.UTC()
}

// Shift returns the start and end, in UTC, of the shift that t falls in,
// read in loc; on is false, and both times zero, when t is off shift.
// A shift is a continuous run of hours: of overlapping shifts it returns
// the earliest start and the latest end, and shifts that touch (Mon
// 09:00-17:00 and Mon 17:00-20:00, or Mon 22:00-24:00 and Tue
// 00:00-06:00) are one, because the person works on without a break: a
// seam is not the moment they leave, nor the moment they arrived. Hours
// that never stop (Mon-Sun 00:00-24:00) have neither a start nor an end:
// both are zero with on true, as for someone without hours.
func (s *Schedule) Shift(t time.Time, loc *time.Location) (start, end time.Time, on bool) {
	local := t.In(loc)
	y, m, d := local.Date()
	// A run that is not round the clock is shorter than a week, so the
	// windows of the eight days either side of t hold all of it. Most runs
	// are a day's shift, which the windows of two days either side hold:
	// those are built first, and the wider span only when the run reaches
	// the edge of what the narrow one can vouch for.
	for _, days := range [2]int{2, 8} {
		first := time.Date(y, m, d-days, 0, 0, 0, 0, loc)
		last := time.Date(y, m, d+days, 0, 0, 0, 0, loc)
		start, end, on = s.run(local, first, last)
		if !on {
			return time.Time{}, time.Time{}, false
		}
		// A window of a day before first ends before the day after first
		// begins (an overnight shift ends by 23:59 the next day), and one
		// of a day after last starts at the earliest when that day begins:
		// a run clear of both is whole.
		if !start.Before(wallClock(first, 1, 0)) && end.Before(wallClock(last, 1, 0)) {
			return start.UTC(), end.UTC(), true
		}
	}
	// The run reaches more than a week before or after t, so it covers
	// every hour of the week: it never ends.
	return time.Time{}, time.Time{}, true
}

// run returns the continuous run of hours that local falls in, of the
// windows of the shifts that start on the days from first to last: windows
// are joined while the next starts at or before the end reached so far.
func (s *Schedule) run(local, first, last time.Time) (start, end time.Time, on bool) {
	var ws [][2]time.Time
	for day := first; !day.After(last); day = wallClock(day, 1, 0) {
		for _, sh := range s.shifts {
			if !sh.days[day.Weekday()] {
				continue
			}
			ws = append(ws, sh.on(day))
		}
	}
	slices.SortFunc(ws, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	for _, w := range ws {
		if on && w[0].After(end) {
			return start, end, true // a break before w, after the run holding local
		}
		if !end.IsZero() && !w[0].After(end) {
			if w[1].After(end) {
				end = w[1]
			}
		} else {
			start, end = w[0], w[1]
		}
		if !local.Before(start) && local.Before(end) {
			on = true
		}
	}
	return start, end, on
}

// NextShiftStart returns the start of the first shift that begins at or
// after t, read in loc, or the zero time if none does within the next eight
// days (which, for a weekly schedule, means never). The shift starts are
// built exactly as OnShift builds them, so at the returned time OnShift
// reports the agent on shift. The result is in UTC.
func (s *Schedule) NextShiftStart(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	y, m, d := local.Date()
	var next time.Time
	for fwd := 0; fwd <= 8; fwd++ {
		day := time.Date(y, m, d+fwd, 0, 0, 0, 0, loc)
		for _, sh := range s.shifts {
			if !sh.days[day.Weekday()] {
				continue
			}
			start := wallClock(day, 0, sh.start)
			if !start.Before(local) && (next.IsZero() || start.Before(next)) {
				next = start
			}
		}
		if !next.IsZero() {
			break // later days start later still
		}
	}
	if next.IsZero() {
		return time.Time{}
	}
	return next.UTC()
}

// TimeOnShift is how long the schedule, read in loc, has the person on
// shift between from and to: overlapping shifts count once, and a shift on
// a day when daylight saving time starts or ends counts its real length.
func (s *Schedule) TimeOnShift(from, to time.Time, loc *time.Location) time.Duration {
	if !to.After(from) {
		return 0
	}
	y, m, d := from.In(loc).Date()
	var spans [][2]time.Time
	// From the day before: a shift past midnight may reach into the window.
	for back := -1; ; back++ {
		day := time.Date(y, m, d+back, 0, 0, 0, 0, loc)
		if !day.Before(to) {
			break
		}
		for _, sh := range s.shifts {
			if !sh.days[day.Weekday()] {
				continue
			}
			w := sh.on(day)
			start, end := w[0], w[1]
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if end.After(start) {
				spans = append(spans, [2]time.Time{start, end})
			}
		}
	}
	slices.SortFunc(spans, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	var total time.Duration
	var reached time.Time // the end of what is counted so far
	for _, sp := range spans {
		if sp[0].Before(reached) {
			sp[0] = reached
		}
		if sp[1].After(sp[0]) {
			total += sp[1].Sub(sp[0])
			reached = sp[1]
		}
	}
	return total
}

// on is the start and end of the shift sh that starts on day (local
// midnight): the end on the next day when the shift runs past midnight.
func (sh shift) on(day time.Time) [2]time.Time {
	endDays := 0
	if sh.end <= sh.start {
		endDays = 1
	}
	return [2]time.Time{wallClock(day, 0, sh.start), wallClock(day, endDays, sh.end)}
}

// wallClock is the moment minutes past midnight on the day days after day,
// read on the wall clock of day's zone. Adding a duration to midnight would
// be an hour off on the days daylight saving time starts or ends.
func wallClock(day time.Time, days, minutes int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d+days, minutes/60, minutes%60, 0, 0, day.Location())
}
