package sim

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/strictjson"
)

// Scenario is one simulated support team and its customers. Durations are
// offsets from Start. ParseScenario fills the defaults; a Scenario built in
// code should be checked with Validate.
type Scenario struct {
	Name string
	Seed int64
	// Start is the simulated clock at offset 0; by default a Monday at
	// midnight UTC, so that shifts and weekends line up with the story.
	Start      time.Time
	Duration   time.Duration
	StuckAfter time.Duration // the daemon's QW_STUCK_AFTER, also the score's threshold
	// BalanceInterval is the queuewrangler policy's QW_BALANCE_INTERVAL.
	BalanceInterval time.Duration
	Team            []Member
	Arrivals        Arrivals
	Work            Work
	// Routing is the inbox's Help Scout routing, as the scenario's account
	// has it configured (design.md section 10).
	Routing Routing
	// Warmup is how long the same world runs before the scored run begins
	// (warmup.go): the history a daemon beside a real account has. It is
	// not in the file format; simulate's --warmup sets it. 0: none.
	Warmup time.Duration
}

// Routing is what a scenario says about the inbox's routing: the settings
// Help Scout stores and the behaviour nobody has yet verified on a live
// account (helpscout-api.md section 14, question 7).
type Routing struct {
	// AssignmentLimit is the inbox's limit (1-100): routing skips anyone
	// with this many active conversations or more. 0, in a scenario built
	// in code, means Help Scout's highest (100); a file must say 1-100.
	AssignmentLimit int
	// DrainsBacklog says whether routing assigns the Unassigned folder when
	// somebody becomes eligible again (Active, back under the limit, or
	// added to the rotation), rather than only conversations that arrive
	// afterwards. Off by default: the pessimistic reading for routing.
	DrainsBacklog bool
}

// Member is one person of the team.
type Member struct {
	Name  string
	Role  roster.Role
	Level int     // 1-5, the roster's seniority level (the balancer's capacity weight)
	Speed float64 // how fast they handle a reply: 1 is the team's norm, 0.5 takes twice as long
	// Hours is a roster schedule ("Mon-Fri 09:00-17:00"); empty means always
	// on shift.
	Hours    string
	Timezone string // IANA; empty means UTC
	Away     []Absence
	// Escalations: a hos who takes the stuck tickets no available SST can
	// (the roster's "escalations"); read only for a hos.
	Escalations bool
}

// Absence is a stretch of Help Scout "away" status, as offsets from Start.
// At falls within the run (before Duration); Until may lie past its end,
// for someone away until after the run.
type Absence struct {
	At, Until time.Duration
}

// Arrivals says when customers write in.
type Arrivals struct {
	PerHour float64 // the mean new conversations per hour at a profile value of 1
	// HourlyProfile multiplies PerHour for each hour of the UTC day (24 values).
	HourlyProfile []float64
	WeekendFactor float64 // multiplies Saturdays and Sundays (UTC)
	Surges        []Surge
}

// Surge multiplies the arrival rate over a stretch of the run: a launch, an
// outage, a Monday after a holiday. At falls within the run; Until may lie
// past its end.
type Surge struct {
	At, Until time.Duration
	Factor    float64
}

// Work says how much a conversation takes.
type Work struct {
	RepliesToResolveMean     float64 // agent replies a conversation needs, at least 1
	HandleMinutesMean        float64 // minutes one reply takes an agent of speed 1
	CustomerReplyMinutesMean float64 // minutes a customer takes to answer a reply
	HardFraction             float64 // share of conversations that are hard
	HardFactor               float64 // how many times longer each reply of a hard one takes
}

// The defaults of the optional fields.
var (
	// defaultStart is a Monday, 00:00 UTC.
	defaultStart = time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)
)

const (
	defaultStuckAfter      = 4 * time.Hour
	defaultBalanceInterval = 5 * time.Minute
	// defaultAssignmentLimit is Help Scout's highest assignment limit: in
	// effect, no limit.
	defaultAssignmentLimit = 100
	maxDuration            = 60 * 24 * time.Hour
	maxTeam                = 500
	maxPerHour             = 10000
)

// The file format, design.md section 10. Durations and optional numbers are
// read as raw values so that every problem can be reported with its field.
type scenarioFile struct {
	Name            string       `json:"name"`
	Seed            int64        `json:"seed"`
	Start           string       `json:"start"`
	Duration        string       `json:"duration"`
	StuckAfter      string       `json:"stuck_after"`
	BalanceInterval string       `json:"balance_interval"`
	Team            []memberFile `json:"team"`
	Arrivals        arrivalsFile `json:"arrivals"`
	Work            workFile     `json:"work"`
	Routing         routingFile  `json:"routing"`
}

type routingFile struct {
	AssignmentLimit *int  `json:"assignment_limit"`
	DrainsBacklog   *bool `json:"drains_backlog"`
}

type memberFile struct {
	Name     string        `json:"name"`
	Role     string        `json:"role"`
	Level    *int          `json:"level"`
	Speed    *float64      `json:"speed"`
	Hours    string        `json:"hours"`
	Timezone string        `json:"timezone"`
	Away     []absenceFile `json:"away"`
	// Escalations is the roster's field of the same name: a hos who takes
	// stuck tickets no senior can.
	Escalations *bool `json:"escalations"`
}

type absenceFile struct {
	At    string `json:"at"`
	Until string `json:"until"`
}

type arrivalsFile struct {
	PerHour       *float64    `json:"per_hour"`
	HourlyProfile []float64   `json:"hourly_profile"`
	WeekendFactor *float64    `json:"weekend_factor"`
	Surges        []surgeFile `json:"surges"`
}

type surgeFile struct {
	At     string  `json:"at"`
	Until  string  `json:"until"`
	Factor float64 `json:"factor"`
}

type workFile struct {
	RepliesToResolveMean     *float64 `json:"replies_to_resolve_mean"`
	HandleMinutesMean        *float64 `json:"handle_minutes_mean"`
	CustomerReplyMinutesMean *float64 `json:"customer_reply_minutes_mean"`
	HardFraction             *float64 `json:"hard_fraction"`
	HardFactor               *float64 `json:"hard_factor"`
}

// ScenarioError lists every problem of a scenario, each naming its field.
type ScenarioError struct {
	Source   string // the file or built-in name, if known
	Problems []string
}

func (e *ScenarioError) Error() string {
	head := "invalid scenario"
	if e.Source != "" {
		head += " " + e.Source
	}
	if len(e.Problems) == 1 {
		return head + ": " + e.Problems[0]
	}
	return head + ":\n  - " + strings.Join(e.Problems, "\n  - ")
}

// ParseScenario reads a scenario file strictly: an unknown field, a key
// given twice (JSON would keep the last silently), a value of the wrong type, a negative rate, an unknown role or a bad duration is
// an error (a *ScenarioError) naming the field.
func ParseScenario(data []byte) (Scenario, error) {
	var f scenarioFile
	// Every unknown field, with where it is; then the rest of the file is
	// still checked, so that one typo does not hide the other problems.
	var problems []string
	for _, u := range strictjson.UnknownFields(data, &f) {
		problems = append(problems, u.String())
	}
	for _, d := range strictjson.DuplicateKeys(data, &f) {
		problems = append(problems, d.String())
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return Scenario{}, &ScenarioError{Problems: append(problems, strictjson.Describe(data, err, "scenario"))}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Scenario{}, &ScenarioError{Problems: append(problems, "unexpected data after the scenario object")}
	}
	sc, p, unread := f.convert()
	problems = append(problems, p...)
	// A field that could not be read has its zero value: checking that
	// value too would only repeat the problem in other words.
	problems = append(problems, sc.problems(unread)...)
	if len(problems) > 0 {
		return Scenario{}, &ScenarioError{Problems: problems}
	}
	return sc, nil
}

// LoadScenario reads a scenario file, or a built-in scenario when name is
// one of BuiltinNames and no such file exists.
func LoadScenario(name string) (Scenario, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && slices.Contains(BuiltinNames(), name) {
			return Builtin(name)
		}
		return Scenario{}, fmt.Errorf("read scenario: %w", err)
	}
	sc, err := ParseScenario(data)
	if err != nil {
		var se *ScenarioError
		if errors.As(err, &se) {
			se.Source = name
		}
		return Scenario{}, err
	}
	return sc, nil
}

//go:embed scenarios/*.json
var builtinFS embed.FS

// BuiltinNames lists the embedded scenarios.
func BuiltinNames() []string {
	return []string{"small-team-week", "vacation", "monday-surge", "stuck-junior", "heavy-load", "part-time"}
}

// Builtin returns an embedded scenario by name.
func Builtin(name string) (Scenario, error) {
	if !slices.Contains(BuiltinNames(), name) {
		return Scenario{}, fmt.Errorf("no built-in scenario %q (built-in: %s)", name, strings.Join(BuiltinNames(), ", "))
	}
	data, err := builtinFS.ReadFile("scenarios/" + name + ".json")
	if err != nil {
		return Scenario{}, fmt.Errorf("read built-in scenario %s: %w", name, err)
	}
	sc, err := ParseScenario(data)
	if err != nil {
		return Scenario{}, fmt.Errorf("built-in scenario %s: %w", name, err)
	}
	return sc, nil
}

// Validate reports every problem of a scenario built in code (ParseScenario
// already did this for a file).
func (sc Scenario) Validate() error {
	if p := sc.problems(nil); len(p) > 0 {
		return &ScenarioError{Problems: p}
	}
	return nil
}

// convert reads the file's values, returning the problems of the fields it
// could not read and the set of those fields.
func (f scenarioFile) convert() (Scenario, []string, map[string]bool) {
	var problems []string
	unread := map[string]bool{}
	bad := func(field, format string, args ...any) {
		problems = append(problems, field+": "+fmt.Sprintf(format, args...))
		unread[field] = true
	}
	dur := func(field, text string, def time.Duration) time.Duration {
		if text == "" {
			return def
		}
		d, err := time.ParseDuration(text)
		if err != nil {
			bad(field, "%q is not a Go duration like 90m or 168h", text)
		}
		return d
	}
	num := func(p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		return *p
	}
	sc := Scenario{
		Name:            f.Name,
		Seed:            f.Seed,
		Start:           defaultStart,
		Duration:        dur("duration", f.Duration, 0),
		StuckAfter:      dur("stuck_after", f.StuckAfter, defaultStuckAfter),
		BalanceInterval: dur("balance_interval", f.BalanceInterval, defaultBalanceInterval),
	}
	if f.Duration == "" {
		bad("duration", "missing (the length of the run, e.g. 168h)")
	}
	if f.Start != "" {
		t, err := time.Parse(time.RFC3339, f.Start)
		if err != nil {
			bad("start", "%q is not an RFC 3339 time like 2026-01-05T00:00:00Z", f.Start)
		}
		sc.Start = t.UTC()
	}
	for i, m := range f.Team {
		where := fmt.Sprintf("team[%d]", i)
		if m.Name != "" {
			where += " (" + m.Name + ")"
		}
		mem := Member{Name: m.Name, Role: roster.Role(m.Role), Level: 2, Speed: 1, Hours: m.Hours, Timezone: m.Timezone}
		if m.Role == "" {
			mem.Role = roster.RoleST
		}
		if m.Level != nil {
			mem.Level = *m.Level
		}
		if m.Escalations != nil {
			// The roster's rule and words: only a value that contradicts
			// the role is refused, so a roster's entry copied here is
			// taken as the daemon takes it.
			mem.Escalations = *m.Escalations
			if say := roster.EscalationsProblem(mem.Role, mem.Escalations); say != "" {
				bad(where+": escalations", "%s", say)
			}
		}
		if m.Speed != nil {
			mem.Speed = *m.Speed
		}
		for j, a := range m.Away {
			aw := fmt.Sprintf("%s: away[%d]", where, j)
			if a.At == "" {
				bad(aw+".at", "missing (an offset from the start, e.g. 48h)")
			}
			if a.Until == "" {
				bad(aw+".until", "missing (an offset from the start, e.g. 96h)")
			}
			mem.Away = append(mem.Away, Absence{At: dur(aw+".at", a.At, 0), Until: dur(aw+".until", a.Until, 0)})
		}
		sc.Team = append(sc.Team, mem)
	}
	if f.Arrivals.PerHour == nil {
		bad("arrivals.per_hour", "missing (new conversations per hour)")
	}
	sc.Arrivals = Arrivals{
		PerHour:       num(f.Arrivals.PerHour, 0),
		HourlyProfile: f.Arrivals.HourlyProfile,
		WeekendFactor: num(f.Arrivals.WeekendFactor, 1),
	}
	if sc.Arrivals.HourlyProfile == nil {
		sc.Arrivals.HourlyProfile = slices.Repeat([]float64{1}, 24)
	}
	for i, s := range f.Arrivals.Surges {
		w := fmt.Sprintf("arrivals.surges[%d]", i)
		sc.Arrivals.Surges = append(sc.Arrivals.Surges, Surge{At: dur(w+".at", s.At, 0), Until: dur(w+".until", s.Until, 0), Factor: s.Factor})
	}
	w := f.Work
	for _, req := range []struct {
		field string
		p     *float64
	}{
		{"work.replies_to_resolve_mean", w.RepliesToResolveMean},
		{"work.handle_minutes_mean", w.HandleMinutesMean},
		{"work.customer_reply_minutes_mean", w.CustomerReplyMinutesMean},
	} {
		if req.p == nil {
			bad(req.field, "missing")
		}
	}
	sc.Work = Work{
		RepliesToResolveMean:     num(w.RepliesToResolveMean, 1),
		HandleMinutesMean:        num(w.HandleMinutesMean, 1),
		CustomerReplyMinutesMean: num(w.CustomerReplyMinutesMean, 1),
		HardFraction:             num(w.HardFraction, 0),
		HardFactor:               num(w.HardFactor, 1),
	}
	sc.Routing = Routing{AssignmentLimit: defaultAssignmentLimit}
	if l := f.Routing.AssignmentLimit; l != nil {
		sc.Routing.AssignmentLimit = *l
		if *l == 0 {
			bad("routing.assignment_limit", "0 is not between 1 and 100 (Help Scout's range)")
		}
	}
	if d := f.Routing.DrainsBacklog; d != nil {
		sc.Routing.DrainsBacklog = *d
	}
	return sc, problems, unread
}

// problems checks the values, naming each field as the file spells it,
// except the fields in skip.
func (sc Scenario) problems(skip map[string]bool) []string {
	var problems []string
	bad := func(field, format string, args ...any) {
		if !skip[field] {
			problems = append(problems, field+": "+fmt.Sprintf(format, args...))
		}
	}
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	rate := func(field string, x float64) {
		switch {
		case !finite(x):
			bad(field, "%g is not a number", x)
		case x < 0:
			bad(field, "%g is negative", x)
		}
	}
	if strings.TrimSpace(sc.Name) == "" {
		bad("name", "missing")
	}
	if sc.Duration <= 0 || sc.Duration > maxDuration {
		bad("duration", "%v is not longer than 0 and at most %v", sc.Duration, maxDuration)
	}
	if sc.Warmup < 0 || sc.Warmup > maxDuration-max(sc.Duration, 0) {
		bad("warmup", "%v is not between 0 and %v less the duration", sc.Warmup, maxDuration)
	}
	if sc.StuckAfter <= 0 {
		bad("stuck_after", "%v is not positive", sc.StuckAfter)
	}
	if sc.BalanceInterval < time.Minute {
		bad("balance_interval", "%v is below 1m", sc.BalanceInterval)
	}
	if len(sc.Team) == 0 {
		bad("team", "empty: a scenario needs at least one person")
	}
	if len(sc.Team) > maxTeam {
		bad("team", "%d people is more than %d", len(sc.Team), maxTeam)
	}
	names := map[string]int{}
	front := 0
	for i, m := range sc.Team {
		where := fmt.Sprintf("team[%d]", i)
		if m.Name != "" {
			where += " (" + m.Name + ")"
		}
		if strings.TrimSpace(m.Name) == "" {
			bad(where+": name", "missing")
		} else if j, ok := names[m.Name]; ok {
			bad(where+": name", "%q is already used by team[%d]", m.Name, j)
		}
		names[m.Name] = i
		switch m.Role {
		case roster.RoleST, roster.RoleSST:
			front++
		case roster.RoleHoS, roster.RoleExclude:
		default:
			bad(where+": role", "%q is not one of st, sst, hos, exclude", m.Role)
		}
		if m.Level < 1 || m.Level > 5 {
			bad(where+": level", "%d is not between 1 (junior) and 5 (principal)", m.Level)
		}
		switch {
		case !finite(m.Speed):
			bad(where+": speed", "%g is not a number", m.Speed)
		case m.Speed < 0:
			bad(where+": speed", "%g is negative", m.Speed)
		case m.Speed == 0 || m.Speed > 10:
			bad(where+": speed", "%g is not above 0 and at most 10", m.Speed)
		}
		if m.Hours != "" {
			if _, err := roster.ParseSchedule(m.Hours); err != nil {
				bad(where+": hours", "%v", err)
			}
		}
		if m.Timezone != "" {
			if _, err := time.LoadLocation(m.Timezone); err != nil {
				bad(where+": timezone", "%q is not an IANA time zone", m.Timezone)
			}
		}
		for j, a := range m.Away {
			aw := fmt.Sprintf("%s: away[%d]", where, j)
			if a.At < 0 {
				bad(aw+".at", "%v is negative", a.At)
			}
			// An absence that begins once the run is over never shows in
			// it, so it is almost surely a typo (say 200h for 20h). One
			// that begins within the run may last past its end: away until
			// after the week. Without a valid duration there is no end to
			// compare with, and duration's own problem says so.
			if sc.Duration > 0 && a.At >= sc.Duration {
				bad(aw+".at", "%v is at or after the run's end (duration %v)", a.At, sc.Duration)
			}
			if a.Until <= a.At {
				bad(aw+".until", "%v is not after at (%v)", a.Until, a.At)
			}
		}
	}
	if len(sc.Team) > 0 && front == 0 {
		bad("team", "nobody has role st or sst, so nobody works the queue")
	}
	a := sc.Arrivals
	rate("arrivals.per_hour", a.PerHour)
	if a.PerHour > maxPerHour {
		bad("arrivals.per_hour", "%g is more than %d", a.PerHour, maxPerHour)
	}
	if len(a.HourlyProfile) != 24 {
		bad("arrivals.hourly_profile", "has %d values, want 24 (one per hour of the UTC day)", len(a.HourlyProfile))
	}
	for i, v := range a.HourlyProfile {
		rate(fmt.Sprintf("arrivals.hourly_profile[%d]", i), v)
	}
	rate("arrivals.weekend_factor", a.WeekendFactor)
	for i, s := range a.Surges {
		w := fmt.Sprintf("arrivals.surges[%d]", i)
		rate(w+".factor", s.Factor)
		if s.At < 0 {
			bad(w+".at", "%v is negative", s.At)
		}
		if sc.Duration > 0 && s.At >= sc.Duration {
			bad(w+".at", "%v is at or after the run's end (duration %v)", s.At, sc.Duration) // as for an absence
		}
		if s.Until <= s.At {
			bad(w+".until", "%v is not after at (%v)", s.Until, s.At)
		}
	}
	w := sc.Work
	rate("work.replies_to_resolve_mean", w.RepliesToResolveMean)
	if finite(w.RepliesToResolveMean) && w.RepliesToResolveMean >= 0 && (w.RepliesToResolveMean < 1 || w.RepliesToResolveMean > 50) {
		bad("work.replies_to_resolve_mean", "%g is not between 1 and 50", w.RepliesToResolveMean)
	}
	for _, x := range []struct {
		field string
		v     float64
	}{
		{"work.handle_minutes_mean", w.HandleMinutesMean},
		{"work.customer_reply_minutes_mean", w.CustomerReplyMinutesMean},
	} {
		rate(x.field, x.v)
		if finite(x.v) && x.v == 0 {
			bad(x.field, "must be above 0")
		}
	}
	rate("work.hard_fraction", w.HardFraction)
	if w.HardFraction > 1 {
		bad("work.hard_fraction", "%g is above 1", w.HardFraction)
	}
	rate("work.hard_factor", w.HardFactor)
	if finite(w.HardFactor) && w.HardFactor >= 0 && w.HardFactor < 1 {
		bad("work.hard_factor", "%g is below 1 (hard tickets take longer, not shorter)", w.HardFactor)
	}
	if l := sc.Routing.AssignmentLimit; l < 0 || l > 100 {
		bad("routing.assignment_limit", "%d is not between 1 and 100 (Help Scout's range)", l)
	}
	return problems
}
