package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// scenarioWith returns a valid scenario file with one top-level part
// replaced: key is a JSON key of the top level, value its raw JSON.
func scenarioWith(t *testing.T, key, value string) string {
	t.Helper()
	parts := map[string]string{
		"name":     `"t"`,
		"seed":     `1`,
		"duration": `"24h"`,
		"team":     `[{"name": "Ana", "role": "st", "level": 1, "speed": 0.6, "hours": "Mon-Fri 09:00-17:00", "timezone": "UTC"}]`,
		"arrivals": `{"per_hour": 2}`,
		"work":     `{"replies_to_resolve_mean": 2, "handle_minutes_mean": 10, "customer_reply_minutes_mean": 60}`,
	}
	if key != "" {
		parts[key] = value
	}
	var b strings.Builder
	b.WriteString("{")
	first := true
	for _, k := range []string{"name", "seed", "duration", "team", "arrivals", "work", "routing", "stuck_after", "balance_interval", "start", "extra"} {
		v, ok := parts[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteString(",\n")
		}
		first = false
		if k == "extra" {
			b.WriteString(v)
			continue
		}
		b.WriteString(`"` + k + `": ` + v)
	}
	b.WriteString("}")
	return b.String()
}

func TestParseScenarioRejectsNamingTheField(t *testing.T) {
	tests := []struct {
		name, key, value string
		want             []string // every one must appear in the error
	}{
		{"unknown top-level field", "extra", `"durration": "1h"`, []string{`unknown field "durration"`}},
		{"unknown member field", "team", `[{"name": "Ana", "sped": 2}]`, []string{`team[0]: unknown field "sped"`}},
		{"unknown arrivals field", "arrivals", `{"per_hour": 2, "per_day": 9}`, []string{`arrivals: unknown field "per_day"`}},
		{"unknown absence field", "team", `[{"name": "Ana", "away": [{"at": "1h", "til": "2h"}]}]`, []string{`team[0].away[0]: unknown field "til"`}},
		// An unknown field hides nothing: the other problems come too.
		{"unknown field and more", "team", `[{"name": "Ana", "sped": 2}, {"name": "Ben", "role": "boss"}]`,
			[]string{`team[0]: unknown field "sped"`, `team[1] (Ben): role: "boss"`}},
		// JSON keeps the last of a repeated key without a word.
		{"repeated key", "team", `[{"name": "Ana", "speed": 2, "speed": 0.5}]`, []string{`team[0]: `, `duplicate key "speed"`}},
		{"repeated key in another case", "team", `[{"name": "Ana", "speed": 2, "Speed": 0.5}]`, []string{`team[0]: `, `duplicate key "Speed" (the same field as "speed"`}},
		{"negative per_hour", "arrivals", `{"per_hour": -3}`, []string{"arrivals.per_hour: -3 is negative"}},
		{"negative profile value", "arrivals", `{"per_hour": 1, "hourly_profile": [1,1,1,-1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}`, []string{"arrivals.hourly_profile[3]: -1 is negative"}},
		{"short profile", "arrivals", `{"per_hour": 1, "hourly_profile": [1,2]}`, []string{"arrivals.hourly_profile: has 2 values, want 24"}},
		{"negative weekend factor", "arrivals", `{"per_hour": 1, "weekend_factor": -0.5}`, []string{"arrivals.weekend_factor: -0.5 is negative"}},
		{"negative surge factor", "arrivals", `{"per_hour": 1, "surges": [{"at": "1h", "until": "2h", "factor": -2}]}`, []string{"arrivals.surges[0].factor: -2 is negative"}},
		{"missing per_hour", "arrivals", `{}`, []string{"arrivals.per_hour: missing"}},
		{"per_hour of the wrong type", "arrivals", `{"per_hour": "six"}`, []string{"arrivals.per_hour", "expected a number"}},
		{"negative speed", "team", `[{"name": "Ana", "speed": -1}]`, []string{"team[0] (Ana): speed: -1 is negative"}},
		{"unknown role", "team", `[{"name": "Ana", "role": "boss"}]`, []string{`team[0] (Ana): role: "boss" is not one of st, sst, hos, exclude`}},
		{"level out of range", "team", `[{"name": "Ana", "level": 7}]`, []string{"team[0] (Ana): level: 7"}},
		{"bad hours", "team", `[{"name": "Ana", "hours": "weekdays"}]`, []string{"team[0] (Ana): hours:"}},
		{"bad timezone", "team", `[{"name": "Ana", "timezone": "Mars/Olympus"}]`, []string{`team[0] (Ana): timezone: "Mars/Olympus"`}},
		{"absence ends before it starts", "team", `[{"name": "Ana", "away": [{"at": "48h", "until": "24h"}]}]`, []string{"team[0] (Ana): away[0].until: 24h0m0s is not after at"}},
		// scenarioWith's run is 24h long: an absence from then on never
		// happens, which is a typo rather than a plan.
		{"absence starting after the run", "team", `[{"name": "Ana", "away": [{"at": "200h", "until": "210h"}]}]`, []string{"team[0] (Ana): away[0].at: 200h0m0s is at or after the run's end (duration 24h0m0s)"}},
		{"surge starting after the run", "arrivals", `{"per_hour": 1, "surges": [{"at": "200h", "until": "210h", "factor": 2}]}`, []string{"arrivals.surges[0].at: 200h0m0s is at or after the run's end (duration 24h0m0s)"}},
		{"absence starting as the run ends", "team", `[{"name": "Ana", "away": [{"at": "24h", "until": "48h"}]}]`, []string{"team[0] (Ana): away[0].at: 24h0m0s is at or after the run's end (duration 24h0m0s)"}},
		// Listed with the others, not instead of them.
		{"absence after the run and more", "team", `[{"name": "Ana", "speed": -1, "away": [{"at": "30h", "until": "20h"}]}]`,
			[]string{"team[0] (Ana): speed: -1 is negative", "team[0] (Ana): away[0].at: 30h0m0s is at or after the run's end", "team[0] (Ana): away[0].until: 20h0m0s is not after at"}},
		{"absence with a bad duration", "team", `[{"name": "Ana", "away": [{"at": "two days", "until": "96h"}]}]`, []string{`team[0] (Ana): away[0].at: "two days" is not a Go duration`}},
		{"escalations on an st", "team", `[{"name": "Ana", "escalations": true}]`, []string{"team[0] (Ana): escalations: true changes nothing on an st (an sst always takes stuck tickets, an st never does; only a hos's is read)"}},
		{"no escalations on an sst", "team", `[{"name": "Ana", "role": "sst", "escalations": false}]`, []string{"team[0] (Ana): escalations: false changes nothing on an sst"}},
		{"duplicate names", "team", `[{"name": "Ana"}, {"name": "Ana"}]`, []string{`team[1] (Ana): name: "Ana" is already used by team[0]`}},
		{"assignment limit of 0", "routing", `{"assignment_limit": 0}`, []string{"routing.assignment_limit: 0 is not between 1 and 100"}},
		{"assignment limit above Help Scout's", "routing", `{"assignment_limit": 101}`, []string{"routing.assignment_limit: 101 is not between 1 and 100"}},
		{"drains_backlog of the wrong type", "routing", `{"drains_backlog": "yes"}`, []string{"routing.drains_backlog", "expected true or false"}},
		{"unknown routing field", "routing", `{"method": "balanced"}`, []string{`routing: unknown field "method"`}},
		{"nobody on the front line", "team", `[{"name": "Cy", "role": "hos"}]`, []string{"team: nobody has role st or sst"}},
		{"bad duration", "duration", `"a week"`, []string{`duration: "a week" is not a Go duration`}},
		{"missing duration", "duration", `""`, []string{"duration: missing"}},
		{"negative stuck_after", "stuck_after", `"-4h"`, []string{"stuck_after: -4h0m0s is not positive"}},
		{"negative handle time", "work", `{"replies_to_resolve_mean": 2, "handle_minutes_mean": -10, "customer_reply_minutes_mean": 60}`, []string{"work.handle_minutes_mean: -10 is negative"}},
		{"hard fraction above 1", "work", `{"replies_to_resolve_mean": 2, "handle_minutes_mean": 10, "customer_reply_minutes_mean": 60, "hard_fraction": 2}`, []string{"work.hard_fraction: 2 is above 1"}},
		{"replies below one", "work", `{"replies_to_resolve_mean": 0.5, "handle_minutes_mean": 10, "customer_reply_minutes_mean": 60}`, []string{"work.replies_to_resolve_mean: 0.5 is not between 1 and 50"}},
		{"every problem at once", "team", `[{"name": "Ana", "role": "boss", "speed": -1}]`, []string{"role:", "speed:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(scenarioWith(t, tt.key, tt.value)))
			var se *ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("ParseScenario error = %v, want a *ScenarioError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestScenarioAbsenceOverTheEnd: an absence that starts within the run
// and lasts past its end is someone away until after the week, not a
// mistake, in a file and in a scenario built in code.
func TestScenarioAbsenceOverTheEnd(t *testing.T) {
	sc, err := ParseScenario([]byte(scenarioWith(t, "team", `[{"name": "Ana", "away": [{"at": "20h", "until": "200h"}]}]`)))
	if err != nil {
		t.Fatalf("ParseScenario: %v", err)
	}
	if got, want := sc.Team[0].Away, []Absence{{At: 20 * time.Hour, Until: 200 * time.Hour}}; !cmp.Equal(got, want) {
		t.Errorf("Ana's absences = %v, want %v", got, want)
	}
	if err := sc.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	sc.Team[0].Away = []Absence{{At: 30 * time.Hour, Until: 40 * time.Hour}}
	err = sc.Validate()
	if want := "team[0] (Ana): away[0].at: 30h0m0s is at or after the run's end (duration 24h0m0s)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Validate of an absence after the run = %v, want it to mention %q", err, want)
	}
}

func TestParseScenarioRejectsMalformedDocuments(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"empty", "", "empty file"},
		{"syntax", "{\n\"name\": ,}", "line 2"},
		{"trailing data", scenarioWith(t, "", "") + " {}", "after the scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseScenario error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestParseScenarioDefaults(t *testing.T) {
	got, err := ParseScenario([]byte(scenarioWith(t, "team", `[{"name": "Ana"}]`)))
	if err != nil {
		t.Fatal(err)
	}
	want := Scenario{
		Name: "t", Seed: 1, Start: time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC),
		Duration: 24 * time.Hour, StuckAfter: 4 * time.Hour, BalanceInterval: 5 * time.Minute,
		Team: []Member{{Name: "Ana", Role: "st", Level: 2, Speed: 1}},
		Arrivals: Arrivals{PerHour: 2, WeekendFactor: 1, HourlyProfile: []float64{
			1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		Work:    Work{RepliesToResolveMean: 2, HandleMinutesMean: 10, CustomerReplyMinutesMean: 60, HardFactor: 1},
		Routing: Routing{AssignmentLimit: 100, DrainsBacklog: false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if got.Start.Weekday() != time.Monday {
		t.Errorf("default start is a %v, want a Monday", got.Start.Weekday())
	}
}

func TestDesignExampleParses(t *testing.T) {
	// The example of design.md section 10, verbatim.
	doc := `{
  "name": "small-team-week",
  "seed": 7,
  "duration": "168h",
  "stuck_after": "4h",
  "team": [
    {"name": "Ana", "role": "st", "level": 1, "speed": 0.6, "hours": "Mon-Fri 09:00-17:00", "timezone": "UTC"},
    {"name": "Ben", "role": "sst", "level": 3, "speed": 1.3, "hours": "Mon-Fri 08:00-16:00", "timezone": "UTC",
     "away": [{"at": "48h", "until": "96h"}]},
    {"name": "Cy", "role": "hos", "level": 4, "speed": 1.0}
  ],
  "arrivals": {"per_hour": 6, "hourly_profile": [0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.7, 1.5,
                                                1.4, 1.5, 1.6, 1.5, 1.3, 1.0, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2],
               "weekend_factor": 0.3},
  "work": {"replies_to_resolve_mean": 2.2, "handle_minutes_mean": 12, "customer_reply_minutes_mean": 180,
           "hard_fraction": 0.1, "hard_factor": 4}
}`
	sc, err := ParseScenario([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sc.Team[1].Away, []Absence{{At: 48 * time.Hour, Until: 96 * time.Hour}}; !cmp.Equal(got, want) {
		t.Errorf("Ben's absences = %v, want %v", got, want)
	}
}

func TestBuiltinScenarios(t *testing.T) {
	for _, name := range BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			sc, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			if sc.Name != name {
				t.Errorf("name = %q, want %q", sc.Name, name)
			}
			if err := sc.Validate(); err != nil {
				t.Error(err)
			}
			if _, err := rosterFor(&sc, false); err != nil {
				t.Errorf("the daemon's roster parser rejects the team: %v", err)
			}
		})
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "small-team-week") {
		t.Errorf("Builtin(nope) error = %v, want it to list the built-in names", err)
	}
}

func TestLoadScenario(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(scenarioWith(t, "", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(scenarioWith(t, "arrivals", `{"per_hour": -1}`)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("file", func(t *testing.T) {
		sc, err := LoadScenario(good)
		if err != nil || sc.Name != "t" {
			t.Errorf("LoadScenario = %q, %v", sc.Name, err)
		}
	})
	t.Run("built-in name", func(t *testing.T) {
		sc, err := LoadScenario("vacation")
		if err != nil || sc.Name != "vacation" {
			t.Errorf("LoadScenario = %q, %v", sc.Name, err)
		}
	})
	t.Run("invalid file names the file and the field", func(t *testing.T) {
		_, err := LoadScenario(bad)
		var se *ScenarioError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "arrivals.per_hour") {
			t.Errorf("LoadScenario error = %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := LoadScenario(filepath.Join(dir, "nope.json"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("LoadScenario error = %v, want one wrapping os.ErrNotExist", err)
		}
		var se *ScenarioError
		if errors.As(err, &se) {
			t.Errorf("a missing file is not an invalid scenario: %v", err)
		}
	})
}

// TestScenarioEscalationsAsTheRoster: a scenario member's "escalations" is
// the roster's field, taken or refused as the roster takes or refuses it
// for the same role. The roster keeps a value that spells out what the
// role does anyway (true on an sst, false on an st, anything on someone
// left out); a scenario refusing those would refuse a team copied from a
// working roster.
func TestScenarioEscalationsAsTheRoster(t *testing.T) {
	for _, role := range []string{"st", "sst", "hos", "exclude"} {
		for _, v := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s %t", role, v), func(t *testing.T) {
				_, rosterErr := roster.Parse([]byte(fmt.Sprintf(`{"agents": [{"email": "a@x.io", "role": %q, "escalations": %t}]}`, role, v)))
				// Bo keeps someone on the front line whatever Ana is.
				_, simErr := ParseScenario([]byte(scenarioWith(t, "team",
					fmt.Sprintf(`[{"name": "Ana", "role": %q, "escalations": %t}, {"name": "Bo", "role": "st"}]`, role, v))))
				if (rosterErr == nil) != (simErr == nil) {
					t.Errorf("the roster says %v, the scenario says %v", rosterErr, simErr)
				}
			})
		}
	}
}
