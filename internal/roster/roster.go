package roster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/strictjson"
)

// Role is a person's part in the support team; the balancer's roles.
type Role = balancer.Role

// Roles, the README's roster section.
const (
	RoleST      = balancer.RoleST      // front line
	RoleSST     = balancer.RoleSST     // front line and escalation target
	RoleHoS     = balancer.RoleHoS     // escalations only, and only when allowed
	RoleExclude = balancer.RoleExclude // ignored entirely
)

func validRole(r Role) bool {
	switch r {
	case RoleST, RoleSST, RoleHoS, RoleExclude:
		return true
	}
	return false
}

// LevelCapacity is the balancer's default capacity weight of a level 1-5.
var LevelCapacity = balancer.LevelCapacity

// DefaultLevel is the level of a user the roster does not name.
const DefaultLevel = 2

// Entry is one person of a roster, or its defaults: one JSON object of the
// file (the README's roster section), or a value given to New. Pointers tell
// "absent" from zero, which matters for defaults: a nil Level keeps the
// defaults' level, a zero one is a mistake that New reports.
type Entry struct {
	ID          int64    `json:"id,omitempty"`
	Email       string   `json:"email,omitempty"`
	Name        string   `json:"name,omitempty"`
	Role        Role     `json:"role,omitempty"`
	Level       *int     `json:"level,omitempty"`
	Capacity    *float64 `json:"capacity,omitempty"`
	MaxOpen     *int     `json:"max_open,omitempty"`
	Hours       string   `json:"hours,omitempty"`
	Timezone    string   `json:"timezone,omitempty"`
	Escalations *bool    `json:"escalations,omitempty"`
}

// file is the document's outer shape. Its entries are decoded one by one
// (decodeEntries), so that a problem inside one names that entry and does
// not hide the problems of the others.
type file struct {
	Defaults json.RawMessage   `json:"defaults"`
	Agents   []json.RawMessage `json:"agents"`
}

// Profile is what the roster says about one person.
type Profile struct {
	Role        Role
	Level       int
	Capacity    float64
	MaxOpen     int // 0 = no cap
	Escalations bool
	Schedule    *Schedule // nil = always on shift
	Timezone    string    // "" = the Help Scout user's own
	Listed      bool      // named in the roster rather than given the defaults
}

// Roster maps Help Scout users to profiles.
type Roster struct {
	defaults Profile
	byID     map[int64]Profile
	byEmail  map[string]Profile
	listed   []listed // the entries, in file order, for Unmatched
}

// listed is how one entry matches users.
type listed struct {
	where string // "agents[2] (ana@acme.example)"
	id    int64
	email string // lower case
}

// Default is the roster used when no file is configured: everyone is an ST
// at level 2.
func Default() *Roster {
	return &Roster{
		defaults: Profile{Role: RoleST, Level: DefaultLevel, Capacity: LevelCapacity(DefaultLevel)},
		byID:     map[int64]Profile{},
		byEmail:  map[string]Profile{},
	}
}

// Load reads and validates a roster file.
func Load(path string) (*Roster, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		// What docker run -v host-file:path mounts when the host file does
		// not exist: Docker makes an empty directory of that name.
		return nil, fmt.Errorf("%s is a directory, not a roster file (docker run -v mounts an empty directory where "+
			"the host file it names does not exist: write the roster there, or leave out QW_ROSTER_FILE and the mount)", path)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrPermission) {
		// A file mounted into the container keeps its owner and mode on
		// the host, and the image runs as uid 65532.
		return nil, fmt.Errorf("read roster: %w (this user, uid %d, may not read it: make it readable by that user, "+
			"such as chmod 644 on the host file mounted in the container, which runs as uid 65532)", err, os.Getuid())
	}
	if err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("roster %s: %w", path, err)
	}
	return r, nil
}

// LoadChecked is Load for a configuration check: every problem of the file
// as one line each, prefixed with the variable that names it (so that they
// join the configuration's other problems), and the roster when there is
// none.
func LoadChecked(path, variable string) (*Roster, []string) {
	r, err := Load(path)
	var re *Error
	switch {
	case errors.As(err, &re):
		out := make([]string, len(re.Problems))
		for i, p := range re.Problems {
			out[i] = variable + " " + path + ": " + p
		}
		return nil, out
	case err != nil:
		return nil, []string{variable + ": " + err.Error()}
	}
	return r, nil
}

// Error lists every problem found in a roster.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	return "invalid roster:\n  - " + strings.Join(e.Problems, "\n  - ")
}

// Parse validates a roster document. A UTF-8 byte order mark before it,
// which some Windows editors write, is skipped: JSON has none, but the
// file means the same with it.
func Parse(data []byte) (*Roster, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if string(bytes.TrimSpace(data)) == "null" {
		// It decodes as an empty roster without an error, where an empty
		// file is refused: both are a file that lost its roster.
		return nil, &Error{Problems: []string{`null: a roster is an object ({"defaults": {...}, "agents": [...]})`}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, &Error{Problems: []string{describeJSONError(data, err)}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &Error{Problems: []string{"unexpected data after the roster object"}}
	}
	// A repeated key decodes as its last value without a word: the
	// person meant one of the two, and only they know which. The entries
	// are read as Entry (decodeEntries), so "level" and "Level" in one
	// entry are the same field given twice.
	var problems []string
	var shape struct {
		Defaults Entry   `json:"defaults"`
		Agents   []Entry `json:"agents"`
	}
	for _, d := range strictjson.DuplicateKeys(data, &shape) {
		problems = append(problems, d.String())
	}
	defaults, agents, undecodable := decodeEntries(f)
	r, err := build(defaults, agents, undecodable)
	if len(problems) == 0 {
		return r, err
	}
	var re *Error
	if errors.As(err, &re) {
		problems = append(problems, re.Problems...)
	}
	return nil, &Error{Problems: problems}
}

// New builds a roster from values, as a program that already holds its team
// (the simulation, the demo) does, and validates it exactly as Parse
// validates a file: every problem is reported at once in an *Error, each
// naming the entry (agents[i]) and the field.
func New(defaults Entry, agents []Entry) (*Roster, error) {
	entries := make([]*Entry, len(agents))
	for i := range agents {
		entries[i] = &agents[i]
	}
	return build(defaults, entries, nil)
}

// build resolves and checks the entries. undecodable holds the problem of
// each entry that did not decode strictly, by its index (-1 for the
// defaults); such an entry is nil in agents, unless its only fault is
// unknown fields: then it is checked too. The problems come in the file's order, so
// that fixing them top to bottom follows the file.
func build(defaults Entry, agents []*Entry, undecodable map[int]string) (*Roster, error) {
	r := Default()
	var problems []string
	if p, ok := undecodable[-1]; ok {
		problems = append(problems, p)
	}
	def, p := resolve("defaults", defaults, r.defaults, true)
	problems = append(problems, p...)
	r.defaults = def
	seenID := map[int64]string{}
	seenEmail := map[string]string{}
	for i, e := range agents {
		if msg, ok := undecodable[i]; ok {
			problems = append(problems, msg)
		}
		if e == nil {
			continue
		}
		where := describe(i, *e)
		if e.ID == 0 && e.Email == "" {
			problems = append(problems, where+": needs an id or an email to match a Help Scout user")
		}
		if e.ID < 0 {
			problems = append(problems, fmt.Sprintf("%s: id: %d is not a Help Scout user id", where, e.ID))
		}
		email := strings.ToLower(strings.TrimSpace(e.Email))
		if email != "" && !strings.Contains(email, "@") {
			problems = append(problems, fmt.Sprintf("%s: email: %q is not an email address", where, e.Email))
		}
		if prev, ok := seenID[e.ID]; ok && e.ID != 0 {
			problems = append(problems, fmt.Sprintf("%s: id: %d is already used by %s", where, e.ID, prev))
		}
		if prev, ok := seenEmail[email]; ok && email != "" {
			problems = append(problems, fmt.Sprintf("%s: email: %s is already used by %s", where, email, prev))
		}
		prof, p := resolve(where, *e, r.defaults, false)
		problems = append(problems, p...)
		prof.Listed = true
		r.listed = append(r.listed, listed{where: where, id: e.ID, email: email})
		if e.ID != 0 {
			seenID[e.ID] = where
			r.byID[e.ID] = prof
		}
		if email != "" {
			seenEmail[email] = where
			r.byEmail[email] = prof
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Problems: problems}
	}
	return r, nil
}

// resolve turns an entry into a profile on top of base, checking each field.
func resolve(where string, e Entry, base Profile, isDefaults bool) (Profile, []string) {
	var problems []string
	bad := func(field, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s: %s", where, field, fmt.Sprintf(format, args...)))
	}
	p := base
	p.Listed = false
	if e.Role != "" {
		if !validRole(e.Role) {
			bad("role", "%q is not one of st, sst, hos, exclude", e.Role)
		}
		p.Role = e.Role
	}
	if e.Level != nil {
		if *e.Level < 1 || *e.Level > 5 {
			bad("level", "%d is not between 1 (junior) and 5 (principal)", *e.Level)
		} else {
			p.Level = *e.Level
			p.Capacity = LevelCapacity(*e.Level)
		}
	}
	if e.Capacity != nil {
		if *e.Capacity <= 0 || *e.Capacity > 10 {
			bad("capacity", "%g is not a weight above 0 and at most 10", *e.Capacity)
		} else {
			p.Capacity = *e.Capacity
		}
	}
	if e.MaxOpen != nil {
		switch {
		case *e.MaxOpen < 0:
			bad("max_open", "%d is negative", *e.MaxOpen)
		case *e.MaxOpen == 0 && base.MaxOpen == 0:
			// 0 is "no cap", there to lift a cap the defaults set. Where
			// there is none, whoever wrote it meant "nothing more", and
			// would see the person given every ticket instead.
			bad("max_open", "0 means no cap, as it is here already (0 only lifts a max_open the defaults set): leave it out, "+
				"give a cap of at least 1, or use role exclude to keep someone out of the queue")
		default:
			p.MaxOpen = *e.MaxOpen
		}
	}
	if e.Escalations != nil {
		p.Escalations = *e.Escalations
	}
	switch {
	case e.Timezone == "Local":
		// time.LoadLocation accepts it, but it means whatever zone the
		// machine runs in: UTC in the container, another on a laptop.
		bad("timezone", "name the time zone (for example Europe/Berlin or UTC), not Local")
	case e.Timezone != "":
		if _, err := time.LoadLocation(e.Timezone); err != nil {
			bad("timezone", "%q is not an IANA time zone", e.Timezone)
		} else {
			p.Timezone = e.Timezone
		}
	}
	if e.Hours != "" {
		s, err := ParseSchedule(e.Hours)
		if err != nil {
			bad("hours", "%v", err)
		} else {
			p.Schedule = s
		}
	}
	if isDefaults && (e.ID != 0 || e.Email != "") {
		bad("id/email", "defaults apply to everyone and cannot name a user")
	}
	if !isDefaults && e.Escalations != nil && validRole(p.Role) {
		if say := EscalationsProblem(p.Role, *e.Escalations); say != "" {
			bad("escalations", "%s", say)
		}
	}
	return p, problems
}

// decodeEntries decodes the defaults and each agent strictly. An entry
// that does not decode goes in undecodable at its index (-1 for the
// defaults), its problem under its own name. One whose only fault is
// unknown fields (a misspelt key) is decoded without them and kept, so
// that the problems of its other fields are reported at the same time,
// and its message names every unknown field, not only the first; one with
// a value of the wrong type is left nil, since the field it could not
// fill would be reported again as missing. The rest are still checked.
func decodeEntries(f file) (defaults Entry, agents []*Entry, undecodable map[int]string) {
	undecodable = map[int]string{}
	if len(f.Defaults) > 0 {
		if msg, ok := decodeEntry(f.Defaults, &defaults); !ok {
			undecodable[-1] = "defaults: " + msg
		}
	}
	agents = make([]*Entry, len(f.Agents))
	for i, raw := range f.Agents {
		var e Entry
		msg, ok := decodeEntry(raw, &e)
		if ok {
			agents[i] = &e
			continue
		}
		var named Entry
		_ = json.Unmarshal(raw, &named) // best effort, for the name only
		undecodable[i] = describe(i, named) + ": " + msg
		if unknownOnly(raw) {
			agents[i] = &e
		}
	}
	return defaults, agents, undecodable
}

// decodeEntry decodes raw into e strictly; on failure msg says what is
// wrong and ok is false. When the only fault is unknown fields, e is
// filled from the known ones.
func decodeEntry(raw json.RawMessage, e *Entry) (msg string, ok bool) {
	err := strictDecode(raw, e)
	if err == nil {
		return "", true
	}
	if unknownOnly(raw) {
		*e = Entry{}
		_ = json.Unmarshal(raw, e) // cannot fail: unknownOnly decoded it
		unknown := unknownFields(raw)
		what := "unknown field "
		if len(unknown) > 1 {
			what = "unknown fields "
		}
		return what + strings.Join(unknown, ", ") + " (allowed: " + allowedFields + ")", false
	}
	return describeEntryError(err), false
}

// unknownOnly reports whether raw is an object that decodes into an Entry
// once its unknown fields are ignored: its only fault is unknown fields.
func unknownOnly(raw json.RawMessage) bool {
	var e Entry
	return len(unknownFields(raw)) > 0 && json.Unmarshal(raw, &e) == nil
}

// unknownFields are the keys of the object raw that an Entry does not
// have, quoted and sorted; none when raw is not an object. Keys match as
// encoding/json matches them, whatever their case.
func unknownFields(raw json.RawMessage) []string {
	var out []string
	for _, u := range strictjson.UnknownFields(raw, &Entry{}) {
		out = append(out, strconv.Quote(u.Key))
	}
	return out
}

func strictDecode(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// describeEntryError says what is wrong inside one entry.
func describeEntryError(err error) string {
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		return strictjson.WrongType(typ)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ") + " (allowed: " + allowedFields + ")"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// allowedFields are the keys of an entry, for the unknown-field message.
const allowedFields = "id, email, name, role, level, capacity, max_open, hours, timezone, escalations"

func describe(i int, e Entry) string {
	switch {
	case e.Email != "":
		return fmt.Sprintf("agents[%d] (%s)", i, e.Email)
	case e.ID != 0:
		return fmt.Sprintf("agents[%d] (id %d)", i, e.ID)
	}
	return fmt.Sprintf("agents[%d]", i)
}

// describeJSONError says what is wrong with the document as a whole; an
// unknown key at the top names the two keys there are.
func describeJSONError(data []byte, err error) string {
	if strings.HasPrefix(err.Error(), "json: unknown field") {
		return strings.TrimPrefix(err.Error(), "json: ") + " (allowed at the top: defaults, agents)"
	}
	return strictjson.Describe(data, err, "roster")
}

// Unmatched names the entries that match none of the given Help Scout
// users (ids, and emails in any case) the way Lookup matches them: a typo
// such as "acme.exmaple" leaves that person on the defaults, and only the
// account's user list can tell.
func (r *Roster) Unmatched(ids []int64, emails []string) []string {
	idSet := make(map[int64]bool, len(ids))
	for _, id := range ids {
		idSet[id] = true
	}
	emailSet := make(map[string]bool, len(emails))
	for _, e := range emails {
		emailSet[strings.ToLower(strings.TrimSpace(e))] = true
	}
	var out []string
	for _, l := range r.listed {
		if (l.id != 0 && idSet[l.id]) || (l.email != "" && emailSet[l.email]) {
			continue
		}
		out = append(out, l.where)
	}
	return out
}

// Overlaps names, for each of the given Help Scout users (ids[i] and
// emails[i] are one user) matched by two entries, one by id and another by
// email, the entry Lookup uses and the one it ignores. The roster alone
// cannot see this: an id and an email are the same person only in the
// account's user list, and whoever wrote the ignored entry (an "exclude"
// for a bot, say) believes it applies.
func (r *Roster) Overlaps(ids []int64, emails []string) []Overlap {
	byID := map[int64]string{}
	byEmail := map[string]string{}
	for _, l := range r.listed {
		if l.id != 0 {
			byID[l.id] = l.where
		}
		if l.email != "" {
			byEmail[l.email] = l.where
		}
	}
	var out []Overlap
	for i, id := range ids {
		used, ok := byID[id]
		if !ok || i >= len(emails) {
			continue
		}
		if ignored, ok := byEmail[strings.ToLower(strings.TrimSpace(emails[i]))]; ok && ignored != used {
			out = append(out, Overlap{UserID: id, Used: used, Ignored: ignored})
		}
	}
	return out
}

// Overlap is one Help Scout user matched by two roster entries: Used by
// id, which Lookup prefers, and Ignored by email.
type Overlap struct {
	UserID        int64
	Used, Ignored string // the entries, as "agents[2] (id 7)" or "agents[3] (ana@acme.example)"
}

// Listed is how many people the roster names.
func (r *Roster) Listed() int { return len(r.listed) }

// Lookup returns the profile for a Help Scout user: by id first, then by
// email (case-insensitive), else the defaults.
func (r *Roster) Lookup(id int64, email string) Profile {
	if p, ok := r.byID[id]; ok {
		return p
	}
	if p, ok := r.byEmail[strings.ToLower(strings.TrimSpace(email))]; ok {
		return p
	}
	return r.defaults
}

// EscalationsProblem says what is wrong with an escalations value written
// on someone of role, or "" when nothing is. Only the head of support's is
// read: an sst always takes stuck tickets and an st never does. Written
// the other way it says its writer expects what will not happen; written
// their way it is harmless, and a roster that spells it out for everyone
// stays valid. The simulator's scenario files say it with these words
// too, so that a team copied between a roster and a scenario is taken or
// refused alike.
func EscalationsProblem(role Role, escalations bool) string {
	if (role == RoleSST && !escalations) || (role == RoleST && escalations) {
		return fmt.Sprintf("%t changes nothing on an %s (an sst always takes stuck tickets, an st never does; only a hos's is read)", escalations, role)
	}
	return ""
}
