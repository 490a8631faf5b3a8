package team

import (
	"context"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// Reader reads the team from the mirror.
type Reader struct {
	db     *store.DB
	roster *roster.Roster
	policy balancer.Policy
	now    func() time.Time
}

// NewReader returns a Reader of db's team under the roster (nil = everyone
// an ST at level 2) and the balancer's policy, on the clock now (nil =
// time.Now).
func NewReader(db *store.DB, r *roster.Roster, p balancer.Policy, now func() time.Time) *Reader {
	if r == nil {
		r = roster.Default()
	}
	if now == nil {
		now = time.Now
	}
	return &Reader{db: db, roster: r, policy: p, now: now}
}

// Read reads the mirror in one transaction and builds the team as it is at
// now: what a balancer run plans from.
func (r *Reader) Read(ctx context.Context, now time.Time) (View, error) {
	snap, err := r.db.Snapshot(ctx, store.SnapshotWindows{
		AssignedSince: now.Add(-r.policy.AssignmentWindow), RepliedSince: now.Add(-PaceWindow)})
	if err != nil {
		return View{}, err // the store's error names the read already
	}
	return Build(snap, r.roster, now), nil
}

// Agents returns every agent with the balancer's current figures, and the
// team's, without planning anything: the queue page and /api/v1/agents.
func (r *Reader) Agents(ctx context.Context) ([]Agent, Figures, error) {
	v, err := r.Read(ctx, r.now().UTC())
	if err != nil {
		return nil, Figures{}, err
	}
	agents, st := v.Measure(r.policy)
	return agents, Figures{Imbalance: st.Imbalance, Jain: st.Jain, CV: st.CV}, nil
}
