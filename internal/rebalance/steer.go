package rebalance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// QW_ROUTING=steer (design.md section 8): Help Scout's routing keeps
// making first assignments, and queuewrangler keeps each balanced inbox's
// rotation (userIds) to the people balancer.Rotation picks, within the
// admin's set. The rules, each kept here:
//   - routing is never enabled or disabled, and its method and limit are
//     written back as read: an inbox with routing off is left alone;
//   - the admin's set is the ceiling, remembered in the store with the set
//     last written, so that a restart does not take queuewrangler's own
//     narrowed set for the admin's; a set read that differs from the one
//     last written is someone else's edit, adopted as the new ceiling;
//   - the rotation is re-read just before every write, and written only
//     when the wanted set differs from it;
//   - never an empty rotation while someone of the ceiling is available;
//     when nobody is, the rotation is left as it is (Help Scout refuses an
//     empty one, and routing skips the Away by itself);
//   - every change, written or adopted, goes to the audit log
//     (rotation_changes) and to an info log line;
//   - a 403 (no "Inbox: Manage Routing" permission) falls back to helpscout
//     mode, said once in the log and on the page, and retried at each
//     balancer run;
//   - at shutdown each inbox gets the admin's set back, so that routing
//     keeps working without the daemon.
//
// Steering changes no ticket, so it runs in propose and apply modes alike;
// in off mode nothing runs. It steers at every balancer run, and soon after
// the mirror holds a new conversation (routing has just given it to
// someone, which may change who should get the next one).

// steering is steer mode's state between runs. Its zero value is ready.
type steering struct {
	mu sync.Mutex // one steer at a time: a run's, a new conversation's, the shutdown's
	// forbidden: Help Scout answered 403; the daemon runs as helpscout
	// until a routing read succeeds again. Atomic, because the page reads
	// it while a steer holds mu through its Help Scout calls.
	forbidden atomic.Bool
	// latestConversation is the newest conversation id in the mirror when
	// the rotations were last steered.
	latestConversation int64
}

// Timings of steer mode.
const (
	// steerCheckEvery is how often the mirror is checked for a new
	// conversation to steer after: "soon after it arrives".
	steerCheckEvery = 2 * time.Second
	// restoreTimeout bounds the shutdown's restoring of the admin's sets.
	restoreTimeout = 30 * time.Second
)

// forbiddenNotice is the page's flag and the log line of the fallback.
const forbiddenNotice = "steer needs the Manage Routing permission; running as helpscout"

func (r *Rebalancer) steers() bool { return r.opts.Routing == balancer.RoutingSteer }

// steerRotations steers every balanced inbox's rotation by snap, naming
// people with names. latest is the newest conversation id the mirror held
// before snap was read (0 when unknown), so that steerAfterNewConversation
// steers again only for what snap did not see. Both come from the caller,
// which has just read them. Failures are logged, never returned: a
// balancer run does not depend on routing.
func (r *Rebalancer) steerRotations(ctx context.Context, snap balancer.Snapshot, names func(int64) string, latest int64) {
	s := &r.steer
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latestConversation = max(s.latestConversation, latest)
	mailboxes, err := r.steeredMailboxes(ctx)
	if err != nil {
		r.sayFailure(slog.LevelWarn, "steer: read the inboxes", "; retrying at the next run", err)
		return
	}
	for _, mb := range mailboxes {
		view, err := r.steerInbox(ctx, mb, snap, names)
		if errors.Is(err, helpscout.ErrForbidden) {
			r.fallBack(err)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				r.sayFailure(slog.LevelWarn, "steer: routing not updated", "; retrying at the next run", err, "mailbox", mb.Name)
			}
			continue
		}
		r.permitted()
		r.looks.setView(view)
	}
}

// latestConversation is the newest conversation id the mirror holds, or 0
// when it cannot be read (the next check tries again).
func (r *Rebalancer) latestConversation(ctx context.Context) int64 {
	latest, err := r.dir.LatestConversationID(ctx)
	if err != nil {
		return 0
	}
	return latest
}

// steerAfterNewConversation steers again when the mirror holds a
// conversation newer than at the last steer. It does not retry a
// forbidden routing: the balancer run does.
func (r *Rebalancer) steerAfterNewConversation(ctx context.Context) {
	latest := r.latestConversation(ctx)
	r.steer.mu.Lock()
	skip := latest <= r.steer.latestConversation || r.steer.forbidden.Load()
	r.steer.mu.Unlock()
	if skip {
		return
	}
	t, err := r.team.Read(ctx, r.opts.Now().UTC())
	if err != nil {
		r.sayFailure(slog.LevelWarn, "steer after a new conversation: read the team", "", err)
		return
	}
	r.steerRotations(ctx, t.Snapshot, viewNames(t), latest)
}

// steeredMailboxes are the inboxes the daemon balances: Options.Mailboxes,
// or every mailbox of the mirror.
func (r *Rebalancer) steeredMailboxes(ctx context.Context) ([]store.Mailbox, error) {
	all, err := r.db.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	if len(r.opts.Mailboxes) == 0 {
		return all, nil
	}
	var out []store.Mailbox
	for _, mb := range all {
		if slices.Contains(r.opts.Mailboxes, mb.ID) {
			out = append(out, mb)
		}
	}
	return out, nil
}

// steerInbox keeps one inbox's rotation to the people Rotation picks.
func (r *Rebalancer) steerInbox(ctx context.Context, mb store.Mailbox, snap balancer.Snapshot, names func(int64) string) (team.RoutingInbox, error) {
	now := r.opts.Now().UTC()
	view := team.RoutingInbox{MailboxID: mb.ID, Name: mb.Name, CheckedAt: now}
	rt, err := r.readRouting(ctx, mb, &view)
	if err != nil || !rt.Enabled() {
		return view, err
	}
	mem, err := r.remembered(ctx, mb, rt.UserIDs, now, names)
	if err != nil {
		return view, err
	}
	current := idSet(rt.UserIDs)
	want := r.wanted(snap, mb, mem, names, &view)
	if want == nil || slices.Equal(want, current) {
		return view, nil
	}

	// The ceiling is re-read before every write: PUT replaces the whole
	// configuration, with no version to check.
	if rt, err = r.readRouting(ctx, mb, &view); err != nil || !rt.Enabled() {
		return view, err
	}
	if again := idSet(rt.UserIDs); !slices.Equal(again, current) {
		if mem, err = r.remembered(ctx, mb, again, now, names); err != nil {
			return view, err
		}
		current = again
		if want = r.wanted(snap, mb, mem, names, &view); want == nil || slices.Equal(want, current) {
			return view, nil
		}
	}
	return view, r.writeRotation(ctx, mb, rt, mem, want, leftOut(view.People), "routing rotation steered", now, names)
}

// writeRotation writes want as the rotation of an inbox whose routing was
// just read as rt, with state, method and limit as read, and records it:
// the set written in the store with its audit entry (why), and an info
// line (msg).
func (r *Rebalancer) writeRotation(ctx context.Context, mb store.Mailbox, rt *helpscout.Routing, mem store.SteeredRotation,
	want []int64, why, msg string, now time.Time, names func(int64) string) error {
	cfg := rt.RoutingConfig
	cfg.UserIDs = want
	if _, err := r.hs.Mailboxes.UpdateRouting(ctx, mb.ID, cfg); err != nil {
		return err
	}
	before := idSet(rt.UserIDs)
	mem.Written, mem.UpdatedAt = want, now
	change := store.RotationChange{MailboxID: mb.ID, At: now, Before: before, After: want, By: store.RotationByQueuewrangler, Why: why}
	if err := r.db.SaveSteeredRotation(context.WithoutCancel(ctx), mem, &change); err != nil {
		return err // the store names the operation and the mailbox
	}
	r.opts.Logger.Info(msg, "mailbox", mb.Name, "before", nameList(before, names), "after", nameList(want, names), "why", why)
	return nil
}

// readRouting reads an inbox's routing, noting on view whether it is on;
// routing found off is logged once until it is on again.
func (r *Rebalancer) readRouting(ctx context.Context, mb store.Mailbox, view *team.RoutingInbox) (*helpscout.Routing, error) {
	rt, look, prev, err := r.looks.look(ctx, r.hs, mb, r.opts.Now().UTC())
	if err != nil {
		return nil, err
	}
	view.Enabled = look.enabled
	if view.Enabled {
		return rt, nil
	}
	view.Note, view.People = "Help Scout's routing is off in this inbox: there is no rotation to steer.", nil
	if !prev.off() {
		r.opts.Logger.Info("steer: routing is off in this inbox; leaving it alone", "mailbox", mb.Name)
	}
	return rt, nil
}

// remembered returns what the store remembers of an inbox's rotation,
// given the set just read: the first time, the set read is the admin's;
// later, a set that differs from the one last written is someone else's
// edit, adopted as the new ceiling, logged and audited.
func (r *Rebalancer) remembered(ctx context.Context, mb store.Mailbox, read []int64, now time.Time, names func(int64) string) (store.SteeredRotation, error) {
	read = idSet(read)
	mem, ok, err := r.db.SteeredRotation(ctx, mb.ID)
	if err != nil {
		return mem, err
	}
	sctx := context.WithoutCancel(ctx)
	if !ok {
		mem = store.SteeredRotation{MailboxID: mb.ID, Ceiling: read, Written: read, UpdatedAt: now}
		if err := r.db.SaveSteeredRotation(sctx, mem, nil); err != nil {
			return mem, err
		}
		r.opts.Logger.Info("steer: the inbox's rotation is the admin's set; nobody outside it will be added",
			"mailbox", mb.Name, "ceiling", nameList(read, names))
		return mem, nil
	}
	if slices.Equal(mem.Written, read) {
		return mem, nil
	}
	why := fmt.Sprintf("changed outside queuewrangler (it had written %s): adopted as the admin's set",
		nameList(mem.Written, names))
	change := store.RotationChange{MailboxID: mb.ID, At: now, Before: mem.Written, After: read, By: store.RotationByOther, Why: why}
	mem.Ceiling, mem.Written, mem.UpdatedAt = read, read, now
	if err := r.db.SaveSteeredRotation(sctx, mem, &change); err != nil {
		return mem, err
	}
	r.opts.Logger.Info("routing rotation changed by someone else; adopted as the admin's set", "mailbox", mb.Name,
		"ceiling", nameList(read, names), "was", nameList(change.Before, names))
	return mem, nil
}

// wanted is the rotation Rotation picks within the ceiling, with everyone's
// reason put on view; nil when nobody of the ceiling is available (the
// rotation is then left as it is).
func (r *Rebalancer) wanted(snap balancer.Snapshot, mb store.Mailbox, mem store.SteeredRotation, names func(int64) string, view *team.RoutingInbox) []int64 {
	agents := make(map[int64]balancer.Agent, len(snap.Agents))
	for _, a := range snap.Agents {
		agents[a.ID] = a
	}
	var want []int64
	view.People, view.Note = nil, ""
	for _, c := range balancer.RotationChoices(snap, r.opts.Policy, mb.ID, mem.Ceiling) {
		if c.Why == balancer.RotationIn {
			want = append(want, c.AgentID)
		}
		view.People = append(view.People, team.RotationPerson{ID: c.AgentID, Name: names(c.AgentID),
			InRotation: c.Why == balancer.RotationIn, Why: whyText(c, agents[c.AgentID])})
	}
	if want == nil {
		view.Note = "Nobody of the admin's set is available: the rotation is left as it is."
	}
	return want
}

// whyText says in plain words why someone is in the rotation or not.
func whyText(c balancer.RotationChoice, a balancer.Agent) string {
	switch c.Why {
	case balancer.RotationIn:
		if c.Wait <= 0 {
			return "gets the next ticket: nobody waiting on them"
		}
		return "gets the next ticket: a new customer would wait about " + balancer.FormatDuration(c.Wait)
	case balancer.RotationNotFrontLine:
		return "not a front-line agent (head of support, excluded, or not in the team)"
	case balancer.RotationNoAccess:
		return "cannot open this inbox"
	case balancer.RotationAway:
		return "away"
	case balancer.RotationOffShift:
		return "off shift until " + a.BackAt.UTC().Format("Mon 15:04") + " UTC"
	case balancer.RotationAtMaxOpen:
		return fmt.Sprintf("at their cap of %d open tickets", a.MaxOpen)
	case balancer.RotationLeaving:
		return "ends the shift at " + a.AvailableUntil.UTC().Format("15:04") + " UTC, too soon to start a new customer"
	case balancer.RotationLongerWait:
		return "others would answer sooner: a new customer would wait about " + balancer.FormatDuration(c.Wait) + " with them"
	case balancer.RotationAboveShare:
		if c.FairUtilisation > 0 {
			return fmt.Sprintf("above their fair share (%.0f%% of it)", 100*c.Utilisation/c.FairUtilisation)
		}
		return "above their fair share"
	}
	return string(c.Why)
}

// leftOut is the audit's reason for a written rotation: who of the
// ceiling was left out, and why.
func leftOut(people []team.RotationPerson) string {
	var out []string
	for _, p := range people {
		if !p.InRotation {
			out = append(out, p.Name+": "+p.Why)
		}
	}
	if len(out) == 0 {
		return "everyone of the admin's set is in"
	}
	return "left out: " + strings.Join(out, "; ")
}

// fallBack runs as helpscout after a 403, saying so once.
func (r *Rebalancer) fallBack(err error) {
	if !r.steer.forbidden.Swap(true) {
		r.opts.Logger.Warn(forbiddenNotice+": give the app's user the \"Inbox: Manage Routing\" permission; retrying at each balancer run", "err", err)
	}
}

// permitted ends a fallback once a routing read succeeds.
func (r *Rebalancer) permitted() {
	if r.steer.forbidden.Swap(false) {
		r.opts.Logger.Info("steer: the Manage Routing permission works again; steering the rotation")
	}
}

// Routing says how new conversations get their first owner: the mode, and
// in steer mode each inbox's rotation as the last steer left it, with why
// each person is in or out. For the page and the JSON API.
func (r *Rebalancer) Routing(context.Context) team.Routing {
	out := team.Routing{Mode: string(r.opts.Routing), Running: string(r.opts.Routing)}
	if r.router != nil {
		out.Inboxes = r.router.inboxViews()
		return out
	}
	if !r.steers() {
		return out
	}
	if r.steer.forbidden.Load() {
		out.Running, out.Notice = string(balancer.RoutingHelpScout), forbiddenNotice
		return out
	}
	out.Inboxes = r.looks.viewed()
	return out
}

// restoreRotations gives each steered inbox the admin's set back when the
// daemon stops, so that routing keeps working without it: Help Scout's
// own rules (Away skipped, the limit) then apply to everyone the admin
// chose. An inbox whose rotation someone else changed meanwhile keeps
// their set, adopted.
func (r *Rebalancer) restoreRotations(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout)
	defer cancel()
	if by, ok := r.restoreDeadline(); ok { // a stopping daemon's budget (StopStarting)
		var cancelBy context.CancelFunc
		ctx, cancelBy = context.WithDeadlineCause(ctx, by, errRestoreCut)
		defer cancelBy()
	}
	s := &r.steer
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forbidden.Load() {
		return
	}
	mailboxes, err := r.steeredMailboxes(ctx)
	if err != nil {
		r.opts.Logger.Warn("steer: the admin's rotations were not restored at shutdown", "err", restoreErr(ctx, err))
		return
	}
	names := team.Names(ctx, r.dir)
	for _, mb := range mailboxes {
		if err := r.restoreInbox(ctx, mb, names); err != nil {
			r.opts.Logger.Warn("steer: the admin's rotation was not restored at shutdown", "mailbox", mb.Name, "err", restoreErr(ctx, err))
		}
	}
}

// errRestoreCut is the cause of a restore the stop's budget cut.
var errRestoreCut = errors.New("the stop's budget ran out first; the inbox keeps the narrowed set")

// restoreErr is err, naming the stop's budget when that is what cut it:
// a bare "context deadline exceeded" would not say why.
func restoreErr(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errRestoreCut) {
		return fmt.Errorf("%w: %w", errRestoreCut, err)
	}
	return err
}

func (r *Rebalancer) restoreInbox(ctx context.Context, mb store.Mailbox, names func(int64) string) error {
	mem, ok, err := r.db.SteeredRotation(ctx, mb.ID)
	if err != nil || !ok {
		return err
	}
	var view team.RoutingInbox
	rt, err := r.readRouting(ctx, mb, &view)
	if err != nil || !rt.Enabled() {
		return err
	}
	now := r.opts.Now().UTC()
	if mem, err = r.remembered(ctx, mb, rt.UserIDs, now, names); err != nil {
		return err
	}
	if slices.Equal(idSet(rt.UserIDs), mem.Ceiling) {
		return nil
	}
	return r.writeRotation(ctx, mb, rt, mem, mem.Ceiling, "queuewrangler stopped: the admin's set is restored so that routing works without it",
		"routing rotation restored to the admin's set", now, names)
}

// idSet sorts and deduplicates a rotation's user ids: the rotation is a
// set, and Help Scout keeps no meaningful order in it.
func idSet(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func nameList(ids []int64, names func(int64) string) string {
	if len(ids) == 0 {
		return "(nobody)"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = names(id)
	}
	return strings.Join(out, ", ")
}

// steerSnapshot is the team the rotation is worked out on after a run: in
// apply mode the state the moves leave, as the simulation's daemon does;
// in propose mode the team as it is, since a proposal changes nothing
// until someone approves it.
func steerSnapshot(current, planned balancer.Snapshot, res balancer.Result, mode Mode) balancer.Snapshot {
	if mode == ModeApply {
		return balancer.Apply(planned, res.Moves)
	}
	return current
}

// steerWatch is Run's part of steer mode: a tick to look for new
// conversations (nil outside steer mode, so it never fires), and, for Run
// to defer, the restoring of the admin's sets when it stops.
func (r *Rebalancer) steerWatch(ctx context.Context) (<-chan time.Time, func()) {
	if !r.steers() {
		return nil, func() {}
	}
	if r.opts.Mode == ModeOff { // off: hands off the rotations too
		// Said once, as own mode says it: the setting asks for steering
		// and nothing will steer.
		r.opts.Logger.Warn("QW_ROUTING=steer with QW_MODE=off: the routing rotation is left as the inbox's admin set it; set QW_MODE=propose or apply to steer it")
		return nil, func() {}
	}
	t := time.NewTicker(steerCheckEvery)
	return t.C, func() {
		t.Stop()
		r.restoreRotations(ctx)
	}
}
