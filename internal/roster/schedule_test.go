package roster

import (
	"testing"
	"time"
)

// berlinZone loads Europe/Berlin, skipping the test without tzdata.
func berlinZone(t *testing.T) *time.Location {
	t.Helper()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	return berlin
}

func mustSchedule(t *testing.T, text string) *Schedule {
	t.Helper()
	s, err := ParseSchedule(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduleNextShiftStart(t *testing.T) {
	berlin, parse := berlinZone(t), func(text string) *Schedule { return mustSchedule(t, text) }
	weekdays := parse("Mon-Fri 09:00-17:00")
	night := parse("Sat,Sun 22:00-06:00")
	split := parse("Mon-Thu 08:00-12:00; Mon-Thu 13:00-17:00; Fri 08:00-12:00")
	tests := []struct {
		name string
		s    *Schedule
		at   time.Time
		want time.Time
	}{
		// 2026-03-02 is a Monday; Berlin is UTC+1 in winter, UTC+2 in summer.
		{"monday before the shift", weekdays, time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)},
		{"at the start itself", weekdays, time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)},
		{"during a shift: the next day's", weekdays, time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)},
		{"friday evening: monday", weekdays, time.Date(2026, 3, 6, 17, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC)},
		{"lunch break: the afternoon shift", split, time.Date(2026, 3, 2, 11, 30, 0, 0, time.UTC), time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)},
		{"friday after the half day: monday", split, time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 9, 7, 0, 0, 0, time.UTC)},
		{"overnight shift starts the evening before", night, time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 14, 21, 0, 0, 0, time.UTC)},
		// Summer time starts on 2026-03-29 in Berlin: Friday's 09:00 is
		// 08:00 UTC, Monday's is 07:00 UTC.
		{"across the clock change", weekdays, time.Date(2026, 3, 27, 17, 0, 0, 0, time.UTC), time.Date(2026, 3, 30, 7, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.s.NextShiftStart(tt.at, berlin)
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("NextShiftStart(%v) = %v, want %v (UTC)", tt.at, got, tt.want)
			}
			if on, _ := tt.s.OnShift(got, berlin); !on {
				t.Errorf("OnShift(%v) = false at the returned start", got)
			}
		})
	}
}

// TestNextShiftStartAgreesWithOnShift walks a fortnight minute by minute:
// wherever the agent is off shift, they come on exactly at NextShiftStart
// and not a minute before.
func TestNextShiftStartAgreesWithOnShift(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	s, err := ParseSchedule("Mon-Thu 08:00-16:00; Fri 08:00-12:00; Sun 22:00-02:00")
	if err != nil {
		t.Fatal(err)
	}
	// Across the US clock change of 2026-03-08.
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var pending time.Time // the predicted start while off shift
	for m := 0; m < 14*24*60; m += 7 {
		at := start.Add(time.Duration(m) * time.Minute)
		on, _ := s.OnShift(at, loc)
		if on {
			if !pending.IsZero() && at.Before(pending) {
				t.Fatalf("on shift at %v, before the predicted start %v", at, pending)
			}
			pending = time.Time{}
			continue
		}
		next := s.NextShiftStart(at, loc)
		if next.IsZero() || !next.After(at) {
			t.Fatalf("off shift at %v: next start %v", at, next)
		}
		if on, _ := s.OnShift(next, loc); !on {
			t.Fatalf("off shift at %v: not on shift at the predicted start %v", at, next)
		}
		if !pending.IsZero() && !next.Equal(pending) {
			t.Fatalf("off shift at %v: predicted %v, earlier %v", at, next, pending)
		}
		pending = next
	}
}

func TestLocationCache(t *testing.T) {
	tests := []struct {
		name, zone, want string
	}{
		{"empty is utc", "", "UTC"},
		{"unknown falls back to utc", "Mars/Olympus", "UTC"},
		{"iana zone", "Europe/Berlin", "Europe/Berlin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := location(tt.zone)
			if got.String() != tt.want {
				t.Errorf("location(%q) = %v, want %v", tt.zone, got, tt.want)
			}
			if again := location(tt.zone); again != got {
				t.Errorf("location(%q) twice gave two different *time.Location", tt.zone)
			}
		})
	}
	if _, ok := locations.Load("Mars/Olympus"); ok {
		t.Error("a zone that failed to load was cached")
	}
	t.Run("concurrent", func(t *testing.T) {
		done := make(chan *time.Location)
		for range 8 {
			go func() { done <- location("Asia/Tokyo") }()
		}
		for range 8 {
			if l := <-done; l.String() != "Asia/Tokyo" {
				t.Errorf("concurrent location = %v", l)
			}
		}
	})
}

// BenchmarkAvailable is the cost the daemon and the simulator pay per agent
// per run; before the location cache most of it was time.LoadLocation.
func BenchmarkAvailable(b *testing.B) {
	s, err := ParseSchedule("Mon-Fri 09:00-17:00")
	if err != nil {
		b.Fatal(err)
	}
	p := Profile{Schedule: s, Timezone: "America/New_York"}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		p.Available(now, "", Presence{})
	}
}

// TestShiftsFollowTheWallClockAcrossDST checks the days daylight saving
// time starts and ends in Berlin: a 09:00-17:00 shift stays 09:00-17:00 on
// the wall clock.
func TestShiftsFollowTheWallClockAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	s, err := ParseSchedule("Sun 09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		at   time.Time
		on   bool
	}{
		// 2026-03-29: clocks go from 02:00 to 03:00; Berlin is UTC+2 after.
		{"spring, 09:00 local", time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC), true},
		{"spring, 08:30 local", time.Date(2026, 3, 29, 6, 30, 0, 0, time.UTC), false},
		{"spring, 16:59 local", time.Date(2026, 3, 29, 14, 59, 0, 0, time.UTC), true},
		{"spring, 17:30 local", time.Date(2026, 3, 29, 15, 30, 0, 0, time.UTC), false},
		// 2026-10-25: clocks go from 03:00 back to 02:00; UTC+1 after.
		{"autumn, 09:00 local", time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC), true},
		{"autumn, 08:30 local", time.Date(2026, 10, 25, 7, 30, 0, 0, time.UTC), false},
		{"autumn, 17:30 local", time.Date(2026, 10, 25, 16, 30, 0, 0, time.UTC), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if on, _ := s.OnShift(tt.at, berlin); on != tt.on {
				t.Errorf("OnShift(%v) = %v, want %v", tt.at.In(berlin), on, tt.on)
			}
		})
	}
	next := s.NextShiftStart(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), berlin)
	if want := time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("NextShiftStart before the spring change = %v, want %v (09:00 local)", next, want)
	}
}

func TestScheduleShift(t *testing.T) {
	berlin, parse := berlinZone(t), func(text string) *Schedule { return mustSchedule(t, text) }
	utc := func(month time.Month, day, hour int) time.Time {
		return time.Date(2026, month, day, hour, 0, 0, 0, time.UTC)
	}
	weekdays := parse("Mon-Fri 09:00-17:00")
	night := parse("Sat,Sun 22:00-06:00")
	overlap := parse("Mon 09:00-17:00; Mon 12:00-20:00")
	tests := []struct {
		name       string
		s          *Schedule
		at         time.Time
		start, end time.Time // zero: off shift
	}{
		// 2026-03-02 is a Monday; Berlin is UTC+1 in winter, UTC+2 in summer.
		{"mid shift", weekdays, utc(3, 2, 10), utc(3, 2, 8), utc(3, 2, 16)},
		{"at the start", weekdays, utc(3, 2, 8), utc(3, 2, 8), utc(3, 2, 16)},
		{"at the end: off", weekdays, utc(3, 2, 16), time.Time{}, time.Time{}},
		{"saturday: off", weekdays, utc(3, 7, 10), time.Time{}, time.Time{}},
		{"overnight, after midnight", night, utc(3, 8, 2), utc(3, 7, 21), utc(3, 8, 5)},
		{"overlapping shifts join", overlap, utc(3, 2, 12), utc(3, 2, 8), utc(3, 2, 19)},
		{"across the clock change: summer hours", weekdays, utc(3, 30, 10), utc(3, 30, 7), utc(3, 30, 15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, on := tt.s.Shift(tt.at, berlin)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("Shift(%v) = %v, %v; want %v, %v", tt.at, start, end, tt.start, tt.end)
			}
			if wantOn, _ := tt.s.OnShift(tt.at, berlin); on != wantOn || on == start.IsZero() {
				t.Errorf("Shift and OnShift disagree at %v: Shift on %v (start %v), OnShift %v", tt.at, on, start, wantOn)
			}
		})
	}
}

func TestScheduleTimeOnShift(t *testing.T) {
	berlin, parse := berlinZone(t), func(text string) *Schedule { return mustSchedule(t, text) }
	weekdays := parse("Mon-Fri 09:00-17:00")
	night := parse("Sat,Sun 22:00-06:00")
	overlap := parse("Mon 08:00-12:00; Mon 10:00-14:00")
	allDay := parse("Sun 00:00-24:00")
	touching := parse("Mon 22:00-24:00; Tue 00:00-06:00")
	allWeek := parse("Mon-Sun 00:00-24:00")
	utc := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2026, mo, d, h, mi, 0, 0, time.UTC) }
	tests := []struct {
		name     string
		s        *Schedule
		from, to time.Time
		want     time.Duration
	}{
		// 2026-03-02 is a Monday; Berlin is UTC+1 in winter.
		{"a working week", weekdays, utc(3, 2, 0, 0), utc(3, 9, 0, 0), 40 * time.Hour},
		{"two weeks back from a wednesday noon", weekdays, utc(2, 25, 11, 0), utc(3, 11, 11, 0), 80 * time.Hour},
		{"from the middle of a shift", weekdays, utc(3, 2, 12, 0), utc(3, 2, 20, 0), 4 * time.Hour},
		{"a weekend", weekdays, utc(3, 7, 0, 0), utc(3, 9, 0, 0), 0},
		{"an empty window", weekdays, utc(3, 2, 12, 0), utc(3, 2, 12, 0), 0},
		{"a window ending before it starts", weekdays, utc(3, 3, 0, 0), utc(3, 2, 0, 0), 0},
		// From Sunday 01:00 Berlin, inside Saturday night's shift (until
		// 06:00, 05:00 UTC): its last 5 hours, and Sunday night's 8.
		{"from inside a shift that began the day before", night, utc(3, 8, 0, 0), utc(3, 9, 12, 0), 5*time.Hour + 8*time.Hour},
		{"overlapping shifts count once", overlap, utc(3, 2, 0, 0), utc(3, 3, 0, 0), 6 * time.Hour},
		// Summer time starts on Sunday 2026-03-29 in Berlin: that day has
		// 23 hours.
		{"the day the clocks go forward", allDay, utc(3, 28, 0, 0), utc(3, 30, 0, 0), 23 * time.Hour},
		// Shifts that touch are one shift (Shift), and count their sum.
		{"touching shifts", touching, utc(3, 2, 0, 0), utc(3, 4, 0, 0), 8 * time.Hour},
		{"round the clock, a week", allWeek, utc(3, 2, 0, 0), utc(3, 9, 0, 0), 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.TimeOnShift(tt.from, tt.to, berlin); got != tt.want {
				t.Errorf("TimeOnShift(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
			}
		})
	}
	if d, ok := (Profile{}).TimeOnShift(utc(3, 2, 0, 0), utc(3, 9, 0, 0), "UTC"); ok || d != 0 {
		t.Errorf("a profile without hours: %v, %v; want 0, false", d, ok)
	}
	// The roster's zone wins over the user's: New York's 09:00-17:00 on
	// Monday is 14:00-22:00 UTC, of which 14:00-18:00 falls in the window.
	p := Profile{Schedule: weekdays, Timezone: "America/New_York"}
	if d, ok := p.TimeOnShift(utc(3, 2, 0, 0), utc(3, 2, 18, 0), "Europe/Berlin"); !ok || d != 4*time.Hour {
		t.Errorf("a profile in New York: %v, %v; want 4h, true", d, ok)
	}
}

// TestScheduleShiftJoinsTouchingShifts: hours that continue without a
// break are one shift, whether the roster writes them as one row or
// several. A person whose 09:00-17:00 runs straight into 17:00-20:00 stays
// until 20:00, and someone on every day's 00:00-24:00 never leaves: the
// balancer would otherwise see them "end the shift" at each seam, and keep
// new customers from them for the margin before it.
func TestScheduleShiftJoinsTouchingShifts(t *testing.T) {
	parse := func(text string) *Schedule { return mustSchedule(t, text) }
	at := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
	}
	sameDay := parse("Mon 09:00-17:00; Mon 17:00-20:00")
	midnight := parse("Mon 22:00-24:00; Tue 00:00-06:00")
	overnightThenDay := parse("Mon 22:00-06:00; Tue 06:00-14:00")
	allWeek := parse("Mon-Sun 00:00-24:00")
	roundTheClock := parse("Mon-Sun 06:00-18:00; Mon-Sun 18:00-06:00")
	notSunday := parse("Mon-Sat 00:00-24:00")
	weekdays := parse("Mon-Fri 00:00-24:00")
	chain := parse("Mon 09:00-17:00; Mon 12:00-20:00; Mon 20:00-22:00")
	gap := parse("Mon 09:00-17:00; Mon 17:01-20:00")
	none := time.Time{} // off shift, or a start and end that never come (OnShift tells which)
	tests := []struct {
		name       string
		s          *Schedule
		at         time.Time
		start, end time.Time
	}{
		// 2026-03-02 is a Monday.
		{"back-to-back, in the first", sameDay, at(3, 2, 10, 0), at(3, 2, 9, 0), at(3, 2, 20, 0)},
		{"back-to-back, in the second", sameDay, at(3, 2, 18, 0), at(3, 2, 9, 0), at(3, 2, 20, 0)},
		{"back-to-back, at the seam", sameDay, at(3, 2, 17, 0), at(3, 2, 9, 0), at(3, 2, 20, 0)},
		{"across midnight, before it", midnight, at(3, 2, 23, 45), at(3, 2, 22, 0), at(3, 3, 6, 0)},
		{"across midnight, after it", midnight, at(3, 3, 1, 0), at(3, 2, 22, 0), at(3, 3, 6, 0)},
		{"a night shift runs into a day shift", overnightThenDay, at(3, 3, 3, 0), at(3, 2, 22, 0), at(3, 3, 14, 0)},
		{"24/7, just before midnight", allWeek, at(3, 2, 23, 45), none, none},
		{"24/7, at midnight", allWeek, at(3, 3, 0, 0), none, none},
		{"24/7 in two rows a day", roundTheClock, at(3, 4, 17, 45), none, none},
		{"24/7 but Sunday, midweek", notSunday, at(3, 4, 12, 0), at(3, 2, 0, 0), at(3, 8, 0, 0)},
		{"24/7 but Sunday, saturday night", notSunday, at(3, 7, 23, 45), at(3, 2, 0, 0), at(3, 8, 0, 0)},
		{"24/7 but Sunday, monday's first minute", notSunday, at(3, 9, 0, 0), at(3, 9, 0, 0), at(3, 15, 0, 0)},
		{"24/7 but Sunday, sunday: off", notSunday, at(3, 8, 12, 0), none, none},
		{"weekdays round the clock, friday night", weekdays, at(3, 6, 23, 45), at(3, 2, 0, 0), at(3, 7, 0, 0)},
		{"overlapping and touching shifts chain", chain, at(3, 2, 10, 0), at(3, 2, 9, 0), at(3, 2, 22, 0)},
		{"a one-minute gap does not join, before it", gap, at(3, 2, 16, 59), at(3, 2, 9, 0), at(3, 2, 17, 0)},
		{"a one-minute gap: off in it", gap, at(3, 2, 17, 0), none, none},
		{"a one-minute gap does not join, after it", gap, at(3, 2, 17, 1), at(3, 2, 17, 1), at(3, 2, 20, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, on := tt.s.Shift(tt.at, time.UTC)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("Shift(%v) = %v, %v; want %v, %v", tt.at, start, end, tt.start, tt.end)
			}
			if wantOn, _ := tt.s.OnShift(tt.at, time.UTC); on != wantOn {
				t.Errorf("Shift(%v) says on %v, OnShift %v", tt.at, on, wantOn)
			}
		})
	}
}

// TestScheduleShiftJoinsAcrossDST: the windows are built on the wall clock,
// so a seam at an hour the clock skips (01:00 on the last Sunday of March
// in London) or passes twice (01:30 on the last Sunday of October) is the
// same moment on both sides, and the shifts still join.
func TestScheduleShiftJoinsAcrossDST(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	at := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, time.UTC)
	}
	spring := mustSchedule(t, "Sat 22:00-01:00; Sun 01:00-09:00")
	autumn := mustSchedule(t, "Sat 22:00-01:30; Sun 01:30-09:00")
	midnight := mustSchedule(t, "Sat 20:00-24:00; Sun 00:00-08:00")
	allWeek := mustSchedule(t, "Mon-Sun 00:00-24:00")
	tests := []struct {
		name       string
		s          *Schedule
		at         time.Time
		start, end time.Time
	}{
		// 2026-03-29: 01:00 GMT becomes 02:00 BST. Saturday 22:00 is GMT
		// (22:00 UTC), Sunday 09:00 is BST (08:00 UTC).
		{"spring, before the change", spring, at(3, 28, 23, 0), at(3, 28, 22, 0), at(3, 29, 8, 0)},
		{"spring, after the change", spring, at(3, 29, 3, 0), at(3, 28, 22, 0), at(3, 29, 8, 0)},
		{"spring, seam at midnight", midnight, at(3, 29, 5, 0), at(3, 28, 20, 0), at(3, 29, 7, 0)},
		// 2026-10-25: 02:00 BST becomes 01:00 GMT. Saturday 22:00 is BST
		// (21:00 UTC), Sunday 09:00 is GMT (09:00 UTC).
		{"autumn, before the change", autumn, at(10, 24, 23, 0), at(10, 24, 21, 0), at(10, 25, 9, 0)},
		{"autumn, in the hour passed twice", autumn, at(10, 25, 1, 0), at(10, 24, 21, 0), at(10, 25, 9, 0)},
		{"autumn, after the change", autumn, at(10, 25, 5, 0), at(10, 24, 21, 0), at(10, 25, 9, 0)},
		{"24/7 over the spring change", allWeek, at(3, 28, 23, 45), time.Time{}, time.Time{}},
		{"24/7 over the autumn change", allWeek, at(10, 24, 22, 45), time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end, on := tt.s.Shift(tt.at, london)
			if !on || !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("Shift(%v) = %v, %v, %v; want %v, %v, true", tt.at, start, end, on, tt.start, tt.end)
			}
		})
	}
}

// TestNextShiftStartAfterAJoinedEnd: after the end of shifts joined into
// one, the next shift is the one after the break; none starts at that end,
// or Shift would have joined it too.
func TestNextShiftStartAfterAJoinedEnd(t *testing.T) {
	at := func(month time.Month, day, hour int) time.Time {
		return time.Date(2026, month, day, hour, 0, 0, 0, time.UTC)
	}
	tests := []struct {
		name, hours string
		now, next   time.Time
	}{
		// 2026-03-02 is a Monday.
		{"back-to-back: next monday", "Mon 09:00-17:00; Mon 17:00-20:00", at(3, 2, 10), at(3, 9, 9)},
		{"split day: tomorrow morning", "Mon-Fri 09:00-13:00; Mon-Fri 13:00-17:00", at(3, 2, 10), at(3, 3, 9)},
		{"night in two rows: tonight", "Mon-Fri 22:00-24:00; Tue-Sat 00:00-06:00", at(3, 3, 1), at(3, 3, 22)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSchedule(t, tt.hours)
			_, end, on := s.Shift(tt.now, time.UTC)
			if !on {
				t.Fatalf("off shift at %v", tt.now)
			}
			if next := s.NextShiftStart(end, time.UTC); !next.Equal(tt.next) {
				t.Errorf("NextShiftStart(%v) = %v, want %v", end, next, tt.next)
			}
		})
	}
}

// TestShiftAgreesWithOnShift walks a fortnight across London's spring
// clock change: wherever the agent is on shift, Shift's run holds them on
// shift from its start to its end, off the moment before the start and at
// the end, and the roster counts its length as time on shift.
func TestShiftAgreesWithOnShift(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	s := mustSchedule(t, "Mon-Fri 09:00-17:00; Mon-Thu 17:00-21:00; Fri 23:00-24:00; Sat 00:00-01:00; Sat 22:00-01:00; Sun 01:00-06:00")
	from := time.Date(2026, 3, 23, 0, 0, 0, 0, time.UTC) // a Monday; the clocks change on the 29th
	var runs int
	var prevEnd time.Time
	for m := 0; m < 14*24*60; m += 7 {
		at := from.Add(time.Duration(m) * time.Minute)
		start, end, on := s.Shift(at, london)
		if wantOn, _ := s.OnShift(at, london); on != wantOn {
			t.Fatalf("at %v: Shift says on %v, OnShift %v", at, on, wantOn)
		}
		if !on {
			continue
		}
		if start.IsZero() || end.IsZero() || at.Before(start) || !at.Before(end) {
			t.Fatalf("at %v: run %v-%v does not hold it", at, start, end)
		}
		if end.Equal(prevEnd) {
			continue // the run checked already
		}
		prevEnd = end
		runs++
		if on, _ := s.OnShift(start.Add(-time.Nanosecond), london); on {
			t.Errorf("run %v-%v: on shift just before its start", start, end)
		}
		if on, _ := s.OnShift(end, london); on {
			t.Errorf("run %v-%v: on shift at its end", start, end)
		}
		if got := s.TimeOnShift(start, end, london); got != end.Sub(start) {
			t.Errorf("run %v-%v: TimeOnShift %v, want its length %v", start, end, got, end.Sub(start))
		}
	}
	// Per week: Mon-Thu 09:00-21:00, Fri 09:00-17:00, Fri 23:00-Sat 01:00
	// and Sat 22:00-Sun 06:00.
	if runs != 2*7 {
		t.Errorf("%d runs in a fortnight, want 14", runs)
	}
}
