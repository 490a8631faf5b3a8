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
			start, end := tt.s.Shift(tt.at, berlin)
			if !start.Equal(tt.start) || !end.Equal(tt.end) {
				t.Errorf("Shift(%v) = %v, %v; want %v, %v", tt.at, start, end, tt.start, tt.end)
			}
			on, _ := tt.s.OnShift(tt.at, berlin)
			if on == start.IsZero() {
				t.Errorf("Shift and OnShift disagree at %v: on %v, start %v", tt.at, on, start)
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
