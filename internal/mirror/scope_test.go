package mirror_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
)

// TestMirrorRecordsMailboxAccess: the mirror records which of the mirrored
// mailboxes each user can open (nil: all of them), so the balancer never
// hands a ticket to someone who cannot open it, and flags as out of scope
// the users who can open none (another inbox's team, with QW_MAILBOXES).
// It costs one user listing per mirrored mailbox.
func TestMirrorRecordsMailboxAccess(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Conversations: 20, Mailboxes: 2})
	support, sales := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	seller, err := e.fake.AddUser(helpscouttest.User{FirstName: "Sal", Mailboxes: []int64{sales}})
	if err != nil {
		t.Fatal(err)
	}
	// Bo can open both: he never shows in the maps below.
	if _, err := e.fake.AddUser(helpscouttest.User{FirstName: "Bo", Mailboxes: []int64{sales, support}}); err != nil {
		t.Fatal(err)
	}
	type access struct {
		Mailboxes  []int64
		OutOfScope bool
	}
	read := func() map[int64]access {
		t.Helper()
		us, err := e.db.Users(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]access{}
		for _, u := range us {
			if u.Mailboxes != nil || u.OutOfScope {
				out[u.ID] = access{u.Mailboxes, u.OutOfScope}
			}
		}
		return out
	}
	listings := func() int { return e.fake.Stats().Requests[helpscouttest.RouteListUsers] }

	// Every mailbox: Sal can open only sales; everyone else, Bo included,
	// all of them.
	syncOnce(t, e.mirror(mirror.Options{}))
	if diff := cmp.Diff(map[int64]access{seller.ID: {Mailboxes: []int64{sales}}}, read()); diff != "" {
		t.Errorf("all mailboxes (-want +got):\n%s", diff)
	}
	if n := listings(); n != 3 {
		t.Errorf("users listed %d times, want 3 (everyone, then each of 2 mailboxes)", n)
	}

	// Support only: Sal is out of scope; Bo can open all of it.
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{support}}))
	if diff := cmp.Diff(map[int64]access{seller.ID: {Mailboxes: []int64{}, OutOfScope: true}}, read()); diff != "" {
		t.Errorf("support only (-want +got):\n%s", diff)
	}
	if n := listings(); n != 5 {
		t.Errorf("users listed %d times in all, want 5 (3, then everyone and support)", n)
	}
}
