package roster

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const designExample = `{
  "defaults": {"role": "st", "level": 2},
  "agents": [
    {"email": "sam@example.com", "role": "sst", "level": 3},
    {"email": "lee@example.com", "role": "hos"},
    {"id": 256, "level": 1, "capacity": 0.5, "hours": "Mon-Fri 09:00-17:00", "timezone": "Europe/Berlin"},
    {"email": "bot@example.com", "role": "exclude"}
  ]
}`

func TestParseDesignExample(t *testing.T) {
	r, err := Parse([]byte(designExample))
	if err != nil {
		t.Fatal(err)
	}
	ignoreSchedule := cmpopts.IgnoreFields(Profile{}, "Schedule")
	tests := []struct {
		name  string
		id    int64
		email string
		want  Profile
	}{
		{"sst by email, level 3 weight", 1, "Sam@Example.com", Profile{Role: RoleSST, Level: 3, Capacity: 1.25, Listed: true}},
		{"hos keeps default level", 2, "lee@example.com", Profile{Role: RoleHoS, Level: 2, Capacity: 1, Listed: true}},
		{"by id with capacity override", 256, "", Profile{Role: RoleST, Level: 1, Capacity: 0.5, Timezone: "Europe/Berlin", Listed: true}},
		{"excluded bot", 9, "bot@example.com", Profile{Role: RoleExclude, Level: 2, Capacity: 1, Listed: true}},
		{"unknown user gets defaults", 77, "new@example.com", Profile{Role: RoleST, Level: 2, Capacity: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Lookup(tt.id, tt.email)
			if diff := cmp.Diff(tt.want, got, ignoreSchedule); diff != "" {
				t.Errorf("Lookup(%d, %q) (-want +got):\n%s", tt.id, tt.email, diff)
			}
		})
	}
	if p := r.Lookup(256, ""); p.Schedule == nil || p.Schedule.String() != "Mon-Fri 09:00-17:00" {
		t.Errorf("schedule of 256 = %v", p.Schedule)
	}
}

func TestParseReportsEveryProblemWithEntryAndField(t *testing.T) {
	doc := `{"defaults": {"role": "boss"}, "agents": [
	  {"email": "a@example.com", "level": 7},
	  {"id": 5, "hours": "Mon-Fri 9-5", "timezone": "Mars/Olympus"},
	  {"role": "st"},
	  {"email": "a@example.com", "capacity": -1, "max_open": -2}
	]}`
	_, err := Parse([]byte(doc))
	re, ok := err.(*Error)
	if !ok {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	want := []string{
		`defaults: role: "boss"`,
		`agents[0] (a@example.com): level: 7`,
		`agents[1] (id 5): timezone: "Mars/Olympus"`,
		`agents[1] (id 5): hours: "9" is not a time of day`,
		`agents[2]: needs an id or an email`,
		`agents[3] (a@example.com): email: a@example.com is already used by agents[0]`,
		`agents[3] (a@example.com): capacity: -1`,
		`agents[3] (a@example.com): max_open: -2`,
	}
	if len(re.Problems) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(re.Problems), len(want), err)
	}
	for _, w := range want {
		found := false
		for _, p := range re.Problems {
			found = found || strings.Contains(p, w)
		}
		if !found {
			t.Errorf("no problem mentions %q:\n%s", w, err)
		}
	}
}

// TestNewIsParseWithoutText: a roster built from values answers every
// lookup as the same roster written as a file and parsed, and a bad one is
// refused with the very problems Parse reports, so the simulation and the
// demo (which hold their team as values) get the daemon's validation.
func TestNewIsParseWithoutText(t *testing.T) {
	tests := []struct {
		name     string
		defaults Entry
		agents   []Entry
		problems int
	}{
		{"design example", Entry{Role: RoleST, Level: new(2)}, []Entry{
			{Email: "sam@example.com", Role: RoleSST, Level: new(3)},
			{Email: "lee@example.com", Role: RoleHoS},
			{ID: 256, Level: new(1), Capacity: new(0.5), Hours: "Mon-Fri 09:00-17:00", Timezone: "Europe/Berlin"},
			{Email: "bot@example.com", Role: RoleExclude},
			{ID: 300, MaxOpen: new(4), Escalations: new(true), Role: RoleHoS},
		}, 0},
		{"defaults with hours and a cap", Entry{Hours: "Mon-Thu 08:00-16:00; Fri 08:00-12:00", MaxOpen: new(9)}, []Entry{
			{ID: 1, MaxOpen: new(0)}, {ID: 2, Timezone: "America/New_York"},
		}, 0},
		{"every problem", Entry{Role: "boss"}, []Entry{
			{Email: "a@example.com", Level: new(7)},
			{ID: 5, Hours: "Mon-Fri 9-5", Timezone: "Mars/Olympus"},
			{Role: RoleST},
			{Email: "a@example.com", Capacity: new(-1.0), MaxOpen: new(-2)},
			{ID: -4, Email: "not-an-address", Level: new(0)},
		}, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"defaults": tt.defaults, "agents": tt.agents})
			if err != nil {
				t.Fatal(err)
			}
			fromValues, errValues := New(tt.defaults, tt.agents)
			fromText, errText := Parse(doc)
			if tt.problems > 0 {
				var ev, et *Error
				if !errors.As(errValues, &ev) || !errors.As(errText, &et) {
					t.Fatalf("New = %v, Parse = %v; want an *Error from both", errValues, errText)
				}
				if diff := cmp.Diff(et.Problems, ev.Problems); diff != "" {
					t.Errorf("problems (-Parse +New):\n%s", diff)
				}
				if len(ev.Problems) != tt.problems {
					t.Errorf("New reported %d problems, want %d:\n%v", len(ev.Problems), tt.problems, errValues)
				}
				return
			}
			if errValues != nil || errText != nil {
				t.Fatalf("New = %v, Parse = %v\n%s", errValues, errText, doc)
			}
			sameSchedule := cmp.Comparer(func(a, b *Schedule) bool {
				return a == nil && b == nil || a != nil && b != nil && a.String() == b.String()
			})
			lookups := []struct {
				id    int64
				email string
			}{{1, ""}, {2, ""}, {256, ""}, {300, ""}, {7, "Sam@Example.com"}, {8, "lee@example.com"}, {9, "bot@example.com"}, {77, "new@example.com"}}
			for _, l := range lookups {
				got, want := fromValues.Lookup(l.id, l.email), fromText.Lookup(l.id, l.email)
				if diff := cmp.Diff(want, got, sameSchedule); diff != "" {
					t.Errorf("Lookup(%d, %q) (-Parse +New):\n%s", l.id, l.email, diff)
				}
			}
		})
	}
}

func TestParseRejectsMalformedDocuments(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"unknown field", `{"agents": [{"email": "a@x.io", "levle": 2}]}`, `agents[0] (a@x.io): unknown field "levle"`},
		{"unknown field in defaults", `{"defaults": {"shoe": 1}, "agents": []}`, `defaults: unknown field "shoe"`},
		{"unknown top-level field", `{"agent": []}`, `unknown field "agent" (allowed at the top: defaults, agents)`},
		{"wrong type", `{"agents": [{"email": "a@x.io", "level": "two"}]}`, "agents[0] (a@x.io): level: expected a whole number, got a JSON string"},
		// What a person writes, never a Go type, and no empty field name.
		{"an entry that is no object", `{"agents": ["sam@x.io"]}`, "agents[0]: expected an object ({...}), got a JSON string"},
		{"defaults that are no object", `{"defaults": [], "agents": []}`, "defaults: expected an object ({...}), got a JSON array"},
		{"agents that are no list", `{"agents": {}}`, "line 1, column 12: agents: expected a list ([...]), got a JSON object"},
		{"a document that is no object", `[{"email": "a@x.io"}]`, "line 1, column 1: expected an object ({...}), got a JSON array"},
		{"an id in quotes", `{"agents": [{"email": "a@x.io", "id": "5"}]}`, "agents[0] (a@x.io): id: expected a whole number, got a JSON string"},
		// One entry's unknown field does not hide another entry's problem.
		{"every entry checked", `{"agents": [{"id": 1, "shoe": 1}, {"id": 2, "level": 9}]}`, "agents[1] (id 2): level: 9"},
		{"syntax", "{\n\"agents\": [,]}", "line 2, column 12: invalid character ',' looking for beginning of value"},
		{"cut off", "{\n  \"agents\": [\n    {\"email\": \"a@x.io\"}", "line 3, column 23: the JSON ends before the roster does (a missing } or ], or a cut-off file)"},
		{"trailing data", `{"agents": []} {}`, "after the roster"},
		// encoding/json keeps the last of a repeated key: this passed as level 1.
		{"a repeated key", `{"agents": [{"email":"a@b.c","level":9,"level":1}]}`,
			`agents[0]: line 1, column 46: duplicate key "level" (JSON keeps only the last)`},
		{"a repeated key at the top", `{"agents": [{"id": 1}], "agents": []}`, `line 1, column 32: duplicate key "agents"`},
		// encoding/json matches keys to fields case-insensitively: this too passed as level 1.
		{"a repeated key in another case", `{"Defaults": {"level": 3}, "agents": [{"email":"a@b.c","level":9,"Level":1}]}`,
			`agents[0]: line 1, column 72: duplicate key "Level" (the same field as "level": JSON keeps only the last)`},
		// An empty file was refused while null passed as an empty roster.
		{"null", "null\n", "null: a roster is an object"},
		{"empty", "", "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestScheduleOnShift(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	weekdays, _ := ParseSchedule("Mon-Fri 09:00-17:00")
	night, _ := ParseSchedule("Sat,Sun 22:00-06:00")
	tests := []struct {
		name     string
		s        *Schedule
		at       time.Time
		on       bool
		offSince time.Time
	}{
		// 2026-03-02 is a Monday; Berlin is UTC+1 in winter.
		{"monday 09:30 berlin", weekdays, time.Date(2026, 3, 2, 8, 30, 0, 0, time.UTC), true, time.Time{}},
		{"monday 08:59 berlin", weekdays, time.Date(2026, 3, 2, 7, 59, 0, 0, time.UTC), false, time.Date(2026, 2, 27, 16, 0, 0, 0, time.UTC)},
		{"friday 17:00 is off", weekdays, time.Date(2026, 3, 6, 16, 0, 0, 0, time.UTC), false, time.Date(2026, 3, 6, 16, 0, 0, 0, time.UTC)},
		// Summer time: UTC+2, so 09:00 local is 07:00 UTC.
		{"summer monday 09:00", weekdays, time.Date(2026, 7, 6, 7, 0, 0, 0, time.UTC), true, time.Time{}},
		{"saturday night past midnight", night, time.Date(2026, 3, 8, 3, 0, 0, 0, time.UTC), true, time.Time{}},
		{"monday after the night shift", night, time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC), false, time.Date(2026, 3, 9, 5, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			on, since := tt.s.OnShift(tt.at, berlin)
			if on != tt.on || !since.Equal(tt.offSince) {
				t.Errorf("OnShift(%v) = %v, %v; want %v, %v", tt.at, on, since, tt.on, tt.offSince)
			}
		})
	}
}

func TestAvailable(t *testing.T) {
	s, _ := ParseSchedule("Mon-Fri 09:00-17:00")
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // Monday
	awaySince := now.Add(-3 * time.Hour)
	tests := []struct {
		name     string
		p        Profile
		tz       string
		presence Presence
		want     Availability
	}{
		{"no hours, active", Profile{}, "", Presence{}, Availability{Available: true, Status: "active"}},
		{"away in help scout", Profile{}, "", Presence{Away: true, UpdatedAt: awaySince}, Availability{Status: "away", UnavailableSince: awaySince}},
		{"on shift in user's zone", Profile{Schedule: s}, "Europe/Berlin", Presence{}, Availability{Available: true, Status: "active",
			AvailableSince: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), AvailableUntil: time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC), NextShiftAt: time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)}},
		{"active since after the shift start", Profile{Schedule: s}, "Europe/Berlin", Presence{UpdatedAt: now.Add(-20 * time.Minute)},
			Availability{Available: true, Status: "active", AvailableSince: now.Add(-20 * time.Minute), AvailableUntil: time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC), NextShiftAt: time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)}},
		{"active since before the shift start", Profile{Schedule: s}, "Europe/Berlin", Presence{UpdatedAt: now.Add(-30 * time.Hour)},
			Availability{Available: true, Status: "active", AvailableSince: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), AvailableUntil: time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC), NextShiftAt: time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)}},
		{"no hours, active since a known time", Profile{}, "", Presence{UpdatedAt: awaySince}, Availability{Available: true, Status: "active", AvailableSince: awaySince}},
		{"status change in the future (clock skew) is ignored", Profile{}, "", Presence{UpdatedAt: now.Add(time.Hour)}, Availability{Available: true, Status: "active"}},
		{"off shift in roster zone", Profile{Schedule: s, Timezone: "America/New_York"}, "Europe/Berlin", Presence{},
			Availability{Status: "off-shift", UnavailableSince: time.Date(2026, 2, 27, 22, 0, 0, 0, time.UTC),
				BackAt: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)}},
		{"away outranks the hours: no known return", Profile{Schedule: s, Timezone: "America/New_York"}, "", Presence{Away: true, UpdatedAt: awaySince},
			Availability{Status: "away", UnavailableSince: awaySince}},
		{"unknown zone falls back to utc", Profile{Schedule: s}, "Mars/Olympus", Presence{}, Availability{Available: true, Status: "active",
			AvailableSince: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), AvailableUntil: time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC), NextShiftAt: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Available(now, tt.tz, tt.presence)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// The next shift is the roster's, not "the same shift tomorrow": on a
// Friday it is Monday's. Back-to-back shifts are one shift: it ends when
// the last of them does, and the next starts after the break (not at the
// seam, which would tell the balancer that work left for "the next shift"
// waits no time at all).
func TestAvailableNextShift(t *testing.T) {
	weekdays, _ := ParseSchedule("Mon-Fri 09:00-17:00")
	split, _ := ParseSchedule("Mon-Fri 09:00-13:00; Mon-Fri 13:00-17:00")
	friday := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
	monday := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		s           *Schedule
		now         time.Time
		until, next time.Time
	}{
		{"friday: monday's shift", weekdays, friday, friday.Add(2 * time.Hour), monday},
		{"back-to-back: one shift, the next tomorrow", split, monday.Add(time.Hour), monday.Add(8 * time.Hour), monday.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Profile{Schedule: tt.s}.Available(tt.now, "UTC", Presence{})
			if !got.AvailableUntil.Equal(tt.until) || !got.NextShiftAt.Equal(tt.next) {
				t.Errorf("AvailableUntil, NextShiftAt = %v, %v; want %v, %v", got.AvailableUntil, got.NextShiftAt, tt.until, tt.next)
			}
		})
	}
}

// TestAvailableRoundTheClock: someone whose hours never stop is available
// as someone without hours is, with no end (AvailableUntil zero, which the
// balancer reads as "not leaving") and no start the roster knows
// (AvailableSince zero, or when they turned Active); someone whose hours
// stop once a week is available from the start of the run to its end.
func TestAvailableRoundTheClock(t *testing.T) {
	allWeek, _ := ParseSchedule("Mon-Sun 00:00-24:00")
	notSunday, _ := ParseSchedule("Mon-Sat 00:00-24:00")
	now := time.Date(2026, 3, 4, 23, 45, 0, 0, time.UTC) // a Wednesday, a quarter to midnight
	active := now.Add(-3 * time.Hour)
	tests := []struct {
		name     string
		p        Profile
		presence Presence
		want     Availability
	}{
		{"24/7", Profile{Schedule: allWeek}, Presence{}, Availability{Available: true, Status: "active"}},
		{"24/7, active since a known time", Profile{Schedule: allWeek}, Presence{UpdatedAt: active}, Availability{Available: true, Status: "active", AvailableSince: active}},
		{"24/7 in a zone with summer time", Profile{Schedule: allWeek, Timezone: "Europe/London"}, Presence{}, Availability{Available: true, Status: "active"}},
		{"every day but sunday", Profile{Schedule: notSunday}, Presence{}, Availability{Available: true, Status: "active",
			AvailableSince: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), AvailableUntil: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC),
			NextShiftAt: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.Available(now, "UTC", tt.presence)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(designExample))
	f.Add([]byte(`{"agents":[{"id":1,"hours":"Sat,Sun 22:00-06:00"}]}`))
	f.Add([]byte(`{"defaults":{"level":9}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if r != nil {
				t.Fatal("Parse returned a roster and an error")
			}
			return
		}
		// Any accepted roster yields sane profiles.
		p := r.Lookup(1, "a@b.c")
		if !validRole(p.Role) || p.Capacity <= 0 || p.Level < 1 || p.Level > 5 || p.MaxOpen < 0 {
			t.Fatalf("accepted roster gives an invalid profile %+v", p)
		}
	})
}

// TestParseRefusesValuesThatWouldMeanSomethingElse: a value the daemon
// would read differently from the person who wrote it is refused, naming
// the entry and the field, instead of silently doing the opposite.
func TestParseRefusesValuesThatWouldMeanSomethingElse(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"max_open 0 with no cap to lift", `{"agents": [{"id": 7, "max_open": 0}]}`,
			"agents[0] (id 7): max_open: 0 means no cap, as it is here already (0 only lifts a max_open the defaults set): leave it out, give a cap of at least 1, or use role exclude"},
		{"max_open 0 in the defaults", `{"defaults": {"max_open": 0}, "agents": []}`,
			"defaults: max_open: 0 means no cap"},
		{"timezone Local is the machine's", `{"agents": [{"id": 7, "hours": "Mon-Fri 09:00-17:00", "timezone": "Local"}]}`,
			"agents[0] (id 7): timezone: name the time zone (for example Europe/Berlin or UTC), not Local"},
		{"escalations on an st", `{"agents": [{"email": "a@x.io", "escalations": true}]}`,
			"agents[0] (a@x.io): escalations: true changes nothing on an st (an sst always takes stuck tickets, an st never does; only a hos's is read)"},
		{"escalations false on an sst", `{"agents": [{"email": "a@x.io", "role": "sst", "escalations": false}]}`,
			"agents[0] (a@x.io): escalations: false changes nothing on an sst"},
		{"a whole day as 00:00-00:00", `{"agents": [{"id": 7, "hours": "Mon-Sun 00:00-00:00"}]}`,
			`agents[0] (id 7): hours: "00:00-00:00" is an empty shift (a whole day is 00:00-24:00)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	// What those values would be taken for stays accepted.
	for _, doc := range []string{
		`{"agents": [{"id": 7, "max_open": 1}]}`,
		`{"defaults": {"max_open": 9}, "agents": [{"id": 7, "max_open": 0}]}`, // lifts the defaults' cap
		`{"agents": [{"id": 7, "hours": "Mon-Fri 09:00-17:00", "timezone": "UTC"}]}`,
		`{"agents": [{"id": 7, "hours": "Mon-Sun 00:00-24:00", "timezone": "UTC"}]}`,
		`{"defaults": {"escalations": true}, "agents": [{"email": "lee@x.io", "role": "hos"}]}`,
		`{"agents": [{"email": "lee@x.io", "role": "hos", "escalations": true}]}`,
		// Spelled out the way the role works anyway.
		`{"agents": [{"email": "a@x.io", "role": "sst", "escalations": true}, {"email": "b@x.io", "escalations": false}]}`,
		`{"agents": [{"email": "c@x.io", "role": "exclude", "escalations": true}]}`,
	} {
		if _, err := Parse([]byte(doc)); err != nil {
			t.Errorf("Parse(%s) = %v, want it accepted", doc, err)
		}
	}
}

// TestParseSkipsAByteOrderMark: a roster a Windows editor saved with a
// UTF-8 byte order mark was refused as "invalid character 'ï'".
func TestParseSkipsAByteOrderMark(t *testing.T) {
	r, err := Parse([]byte("\ufeff" + `{"agents": [{"email": "lee@x.io", "role": "hos"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Lookup(1, "lee@x.io").Role; got != RoleHoS {
		t.Errorf("role = %q, want hos", got)
	}
}

// TestLoadNamesADirectory: docker run -v roster.json:/etc/.../roster.json
// with no roster.json on the host mounts an empty directory there, and
// the start said only "read roster: read ...: is a directory".
func TestLoadNamesADirectory(t *testing.T) {
	dir := t.TempDir()
	_, problems := LoadChecked(dir, "QW_ROSTER_FILE")
	want := "QW_ROSTER_FILE: " + dir + " is a directory, not a roster file (docker run -v mounts an empty directory where the host file it names does not exist"
	if len(problems) != 1 || !strings.HasPrefix(problems[0], want) {
		t.Errorf("LoadChecked(a directory) = %q, want one problem starting %q", problems, want)
	}
}

// TestProblemsComeInTheFilesOrder: an entry that does not decode (an
// unknown field) was listed before every other problem, so a file's
// eleventh entry came first and its first entry after it.
func TestProblemsComeInTheFilesOrder(t *testing.T) {
	doc := `{"defaults": {"shoe": 1}, "agents": [
	  {"email": "a@x.io", "level": 9},
	  {"email": "b@x.io", "favourite": "tea"},
	  {"email": "c@x.io", "role": "boss"}
	]}`
	_, err := Parse([]byte(doc))
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	var got []string
	for _, p := range re.Problems {
		where, _, _ := strings.Cut(p, ":")
		got = append(got, where)
	}
	want := []string{"defaults", "agents[0] (a@x.io)", "agents[1] (b@x.io)", "agents[2] (c@x.io)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems' entries (-want +got):\n%s\n%v", diff, err)
	}
}

// TestUnknownFieldHidesNothingElseOfItsEntry: a misspelt key used to be the
// only problem reported for its entry, so the entry's bad level, and its
// email used twice, came out only at the next try; and of several
// misspelt keys only the first was named.
func TestUnknownFieldHidesNothingElseOfItsEntry(t *testing.T) {
	doc := `{"defaults": {"shoe": 1, "level": 0}, "agents": [
	  {"email": "a@x.io"},
	  {"email": "a@x.io", "colour": "red", "favourite": "tea", "level": 9}
	]}`
	_, err := Parse([]byte(doc))
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	want := []string{
		`defaults: unknown field "shoe" (allowed: `,
		`defaults: level: 0`,
		`agents[1] (a@x.io): unknown fields "colour", "favourite" (allowed: `,
		`agents[1] (a@x.io): email: a@x.io is already used by agents[0] (a@x.io)`,
		`agents[1] (a@x.io): level: 9`,
	}
	if len(re.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(re.Problems), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(re.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to start %q", i, re.Problems[i], w)
		}
	}
}

// TestKeysInAnyCaseAreKnown: encoding/json matches keys whatever their
// case, so "Email" and "Level" are the entry's own fields, not unknown
// ones; only the misspelt key is named.
func TestKeysInAnyCaseAreKnown(t *testing.T) {
	_, err := Parse([]byte(`{"agents": [{"Email": "a@x.io", "Level": 9, "colour": "red"}]}`))
	var re *Error
	if !errors.As(err, &re) {
		t.Fatalf("Parse = %v, want *Error", err)
	}
	want := []string{`agents[0] (a@x.io): unknown field "colour" (allowed: `, `agents[0] (a@x.io): level: 9`}
	if len(re.Problems) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(re.Problems), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(re.Problems[i], w) {
			t.Errorf("problem %d = %q, want it to start %q", i, re.Problems[i], w)
		}
	}
}
