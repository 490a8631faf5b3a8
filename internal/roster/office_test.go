package roster

import (
	"strings"
	"testing"
	"time"
)

func TestOfficeHoursElapsed(t *testing.T) {
	if _, err := time.LoadLocation("America/New_York"); err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	const newYork = "Mon-Fri 09:00-17:00 America/New_York"
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Each case: the local times in the comment, UTC in the fields; New
	// York is UTC-5 in winter (EST) and UTC-4 from 8 March to 1 November
	// 2026 (EDT).
	tests := []struct {
		name     string
		hours    string
		from, to string
		want     time.Duration
	}{
		// Fri 18:30 EST -> Mon 10:15 EST: nothing on Friday, 09:00-10:15 on Monday.
		{"friday evening answered on monday", newYork, "2026-01-09 23:30", "2026-01-12 15:15", 75 * time.Minute},
		// Tue 10:00 -> 11:30 EST.
		{"inside hours", newYork, "2026-01-13 15:00", "2026-01-13 16:30", 90 * time.Minute},
		// Wed 16:00 -> Thu 10:00 EST: 16:00-17:00 and 09:00-10:00.
		{"over one night", newYork, "2026-01-14 21:00", "2026-01-15 15:00", 2 * time.Hour},
		// Fri 16:00 EST -> Mon 10:00 EDT: an hour each side of a weekend
		// whose Sunday springs forward; reading Monday at Friday's offset
		// would find none.
		{"daylight saving starts over the weekend", newYork, "2026-03-06 21:00", "2026-03-09 14:00", 2 * time.Hour},
		// Fri 16:00 EDT -> Mon 10:00 EST.
		{"daylight saving ends over the weekend", newYork, "2026-10-30 20:00", "2026-11-02 15:00", 2 * time.Hour},
		// Sat 12:00 EST -> Mon 12:00 EDT with all of Sunday in hours:
		// Sunday 8 March has 23 hours.
		{"the day daylight saving starts is 23 hours", "Sun 00:00-24:00 America/New_York", "2026-03-07 17:00", "2026-03-09 16:00", 23 * time.Hour},
		// Sat 12:00 EDT -> Mon 12:00 EST: Sunday 1 November has 25 hours.
		{"the day daylight saving ends is 25 hours", "Sun 00:00-24:00 America/New_York", "2026-10-31 16:00", "2026-11-02 17:00", 25 * time.Hour},
		// Sat 10:00 -> 14:00 EST.
		{"created and answered on a weekend", newYork, "2026-01-10 15:00", "2026-01-10 19:00", 0},
		// Tue 18:00 -> Wed 08:00 EST.
		{"created and answered overnight", newYork, "2026-01-13 23:00", "2026-01-14 13:00", 0},
		// Fri 12:00 -> Mon 10:00 CET: Friday closes at 13:00.
		{"several ranges", "Mon-Thu 09:00-17:00; Fri 09:00-13:00 Europe/Berlin", "2026-01-16 11:00", "2026-01-19 09:00", 2 * time.Hour},
		// Mon 21:00 -> Tue 07:00 UTC with a night shift.
		{"hours past midnight", "Mon-Fri 22:00-06:00 UTC", "2026-01-12 21:00", "2026-01-13 07:00", 8 * time.Hour},
		{"to before from", newYork, "2026-01-13 16:30", "2026-01-13 15:00", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseOfficeHours(tt.hours)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Elapsed(utc(tt.from), utc(tt.to)); got != tt.want {
				t.Errorf("Elapsed = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseOfficeHours(t *testing.T) {
	if _, err := time.LoadLocation("America/New_York"); err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	unset, err := ParseOfficeHours("  ")
	if err != nil || unset.IsSet() || unset.Elapsed(time.Unix(0, 0), time.Unix(3600, 0)) != 0 {
		t.Errorf("blank office hours = %+v, %v; want unset, no error, nothing elapsed", unset, err)
	}
	set, err := ParseOfficeHours(" Mon-Fri 09:00-17:00 America/New_York ")
	if err != nil || !set.IsSet() || set.String() != "Mon-Fri 09:00-17:00 America/New_York" {
		t.Errorf("ParseOfficeHours = %v, %v", set, err)
	}
	if got := set.Location().String(); got != "America/New_York" || unset.Location() != nil {
		t.Errorf("Location = %s (unset: %v), want America/New_York (unset: nil)", got, unset.Location())
	}
	for text, wantErr := range map[string]string{
		"Mon-Fri 09:00-17:00":                   "ends without a time zone",
		"America/New_York":                      "ends without a time zone",
		"Mon-Fri 09:00-17:00 Mars/Olympus_Mons": `"Mars/Olympus_Mons" is not an IANA time zone`,
		"Mon-Fri 09:00-17:00 Local":             "not Local",
		"Mon-Fry 09:00-17:00 UTC":               `"Fry" is not a day`,
		"Mon-Fri 09:00-25:00 Europe/Berlin":     `"25:00" is not a time of day`,
		"Mon-Fri 09:00-17:00 Europe/Berlin UTC": `is not "Days HH:MM-HH:MM"`,
		// A comma where the semicolon goes: the message shows the separator.
		"Mon-Fri 09:00-17:00, Sat 10:00-14:00 UTC": `shifts are separated by ";", as in Mon-Fri 09:00-17:00; Sat 10:00-14:00`,
	} {
		if _, err := ParseOfficeHours(text); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseOfficeHours(%q) = %v, want an error containing %q", text, err, wantErr)
		}
	}
}
