package mirror_test

import (
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
)

// pagedDirectory is an account of 51 mailboxes, two pages of the
// directory's mailbox listing, mirrored once. disturb, given the sorted
// mailbox ids, upsets the next refresh's listing; the refresh then runs,
// and the last mailbox, which never goes, must hold what it held (what,
// for the failure, says how the listing was upset).
func pagedDirectory(t *testing.T, what string, disturb func(e *env, ids []int64)) {
	t.Helper()
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 23, Conversations: 1020, Mailboxes: 51})
	ids := slices.Sorted(slices.Values(e.acct.Mailboxes))
	m := e.mirror(mirror.Options{})
	syncOnce(t, m)
	victim := ids[50]
	before := heldIn(t, e, victim)
	if before == 0 {
		t.Fatalf("mailbox %d holds nothing", victim)
	}
	disturb(e, ids)
	e.clock.Advance(16 * time.Minute)
	if _, err := m.SyncOnce(t.Context()); err != nil {
		t.Fatalf("sync: %v (a refused directory refresh is logged and retried, not the sync's failure)", err)
	}
	if n := heldIn(t, e, victim); n != before {
		t.Errorf("mailbox %d, never gone, holds %d of its %d conversations after a refresh whose %s", victim, n, before, what)
	}
}

// secondPage says whether r asks for page 2 of the mailbox listing.
func secondPage(r *http.Request) bool {
	return r.URL.Path == "/v2/mailboxes" && r.URL.Query().Get("page") == "2"
}

// TestDirectoryShiftedBetweenPagesForgetsNothing: a mailbox deleted
// between page 1 and page 2 of the directory's mailbox listing shifts the
// first mailbox of page 2 onto page 1, where it was already read: it is
// in neither page. Taken for gone, it lost its conversations; Help Scout
// still serves it, so the refresh is refused and the mirror kept.
func TestDirectoryShiftedBetweenPagesForgetsNothing(t *testing.T) {
	pagedDirectory(t, "listing shifted", func(e *env, ids []int64) {
		var once sync.Once
		e.log.setBefore(func(r *http.Request) {
			if secondPage(r) {
				once.Do(func() {
					if err := e.fake.RemoveMailbox(ids[0]); err != nil {
						t.Error(err)
					}
				})
			}
		})
	})
}

// TestDirectoryCutShortForgetsNothing: a page answered empty once (Help
// Scout leaves out _embedded on an empty page) ends the mailbox listing
// early; the mailboxes past it are still served, so nothing is forgotten.
func TestDirectoryCutShortForgetsNothing(t *testing.T) {
	pagedDirectory(t, "page 2 came back empty", func(e *env, _ []int64) {
		var once sync.Once
		e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
			hit := false
			if secondPage(r) {
				once.Do(func() {
					hit = true
					w.Header().Set("Content-Type", "application/hal+json")
					w.Write([]byte(`{"page":{"size":50,"totalElements":51,"totalPages":2,"number":2}}`))
				})
			}
			return hit
		})
	})
}

// TestRefusedWalkLetsTheNextWalksRun: a newly listed mailbox whose walk
// Help Scout refuses while still listing it kept every newly listed
// mailbox after it from its walk, so their history never came; the poll
// reads only what changes.
func TestRefusedWalkLetsTheNextWalksRun(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	m := e.mirror(mirror.Options{})
	syncOnce(t, m)
	c := addOldMailbox(t, e, 3)
	d := addOldMailbox(t, e, 3)
	if d < c {
		t.Fatalf("mailbox %d added after %d has a lower id: the walks' order is not the one the test needs", d, c)
	}
	refuseListings(e, c, http.StatusForbidden)
	e.clock.Advance(16 * time.Minute)
	for range 3 {
		if _, err := m.SyncOnce(t.Context()); err == nil {
			t.Errorf("a sync with mailbox %d's walk refused succeeded; want it to say so", c)
		}
		e.clock.Advance(2 * time.Minute)
	}
	if n := heldIn(t, e, d); n != 3 {
		t.Errorf("mailbox %d, listed with %d and served, holds %d of its 3 conversations after 3 syncs", d, c, n)
	}
}
