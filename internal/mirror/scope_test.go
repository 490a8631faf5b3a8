package mirror_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
)

// TestMirrorMarksUsersOfOtherMailboxes: limited to one mailbox, the mirror
// flags the users who cannot open it (the other inbox's team), so the
// balancer never counts them or hands them tickets. Unlimited, nobody is
// flagged and no extra request is made.
func TestMirrorMarksUsersOfOtherMailboxes(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Conversations: 20, Mailboxes: 2})
	support, sales := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	seller, err := e.fake.AddUser(helpscouttest.User{FirstName: "Sal", Mailboxes: []int64{sales}})
	if err != nil {
		t.Fatal(err)
	}
	// Bo can open both: in scope.
	if _, err := e.fake.AddUser(helpscouttest.User{FirstName: "Bo", Mailboxes: []int64{sales, support}}); err != nil {
		t.Fatal(err)
	}
	flagged := func() map[int64]bool {
		t.Helper()
		us, err := e.db.Users(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]bool{}
		for _, u := range us {
			if u.OutOfScope {
				out[u.ID] = true
			}
		}
		return out
	}

	syncOnce(t, e.mirror(mirror.Options{}))
	if got := flagged(); len(got) != 0 {
		t.Errorf("unlimited mirror flagged %v", got)
	}
	if n := e.fake.Stats().Requests[helpscouttest.RouteListUsers]; n != 1 {
		t.Errorf("unlimited mirror listed users %d times, want 1", n)
	}

	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{support}}))
	// One listing of everyone, one of the support mailbox's users.
	if n := e.fake.Stats().Requests[helpscouttest.RouteListUsers]; n != 3 {
		t.Errorf("users listed %d times in all, want 3", n)
	}
	if diff := cmp.Diff(map[int64]bool{seller.ID: true}, flagged()); diff != "" {
		t.Errorf("out of scope (-want +got):\n%s", diff)
	}
}
