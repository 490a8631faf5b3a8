package helpscout_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

// TestRoutingAgainstFake checks the client and the fake, written apart from
// each other, read section 15 the same way: what one sends the other
// understands, and the fake's errors reach the caller typed.
func TestRoutingAgainstFake(t *testing.T) {
	t.Parallel()
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	c, err := helpscout.NewClient(fake.Client()).WithBaseURL(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, name := range []string{"Olga", "Ana", "Ben"} {
		u, err := fake.AddUser(helpscouttest.User{FirstName: name})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	olga, ana, ben := ids[0], ids[1], ids[2]
	if err := fake.SetUserStatus(ben, "away"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	got, _, err := c.Mailboxes.GetRouting(ctx, mb.ID)
	if err != nil {
		t.Fatalf("GetRouting (never configured): %v", err)
	}
	if got.Enabled() || got.AssignmentLimit != 0 || got.AssignmentMethod != "" || len(got.UserIDs) != 0 || len(got.Rotation) != 3 {
		t.Errorf("never configured = %+v, want disabled, no limit or method, three users listed", got)
	}

	cfg := helpscout.RoutingConfig{State: helpscout.RoutingEnabled, AssignmentLimit: 1,
		AssignmentMethod: helpscout.RoutingBalanced, UserIDs: []int64{ana, ben}}
	resp, err := c.Mailboxes.UpdateRouting(ctx, mb.ID, cfg)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("UpdateRouting = %v, %v", resp, err)
	}
	// The fake now routes: Ana takes the first customer and is at her limit.
	cu, err := fake.AddCustomer(helpscouttest.Customer{})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cu.ID})
	if err != nil || conv.AssigneeID != ana {
		t.Fatalf("routed to %d (%v), want Ana %d", conv.AssigneeID, err, ana)
	}

	got, _, err = c.Mailboxes.GetRouting(ctx, mb.ID)
	if err != nil {
		t.Fatalf("GetRouting: %v", err)
	}
	want := &helpscout.Routing{
		RoutingConfig: cfg,
		Rotation: []helpscout.RotationEntry{
			{UserID: ana, ConversationsCount: 1, Reason: helpscout.ReasonAtCapacity},
			{UserID: ben, Reason: helpscout.ReasonAway},
			{UserID: olga, Reason: helpscout.ReasonNotInRotation},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("routing mismatch (-want +got):\n%s", diff)
	}
	if puts := fake.RoutingPuts(); len(puts) != 1 || puts[0].StatusCode != http.StatusNoContent {
		t.Errorf("fake saw %d PUTs (%+v), want one 204", len(puts), puts)
	}

	t.Run("400 names the field", func(t *testing.T) {
		bad := cfg
		bad.AssignmentLimit = 101 // the client leaves the upper bound to the server
		_, err := c.Mailboxes.UpdateRouting(ctx, mb.ID, bad)
		var er *helpscout.ErrorResponse
		if !errors.As(err, &er) || er.StatusCode != http.StatusBadRequest || len(er.Errors) != 1 ||
			er.Errors[0].Path != "assignmentLimit" || er.Errors[0].RejectedValue != "101" || er.LogRef == "" {
			t.Errorf("err = %v, want a 400 naming assignmentLimit", err)
		}
	})
	t.Run("404 mailbox", func(t *testing.T) {
		if _, _, err := c.Mailboxes.GetRouting(ctx, mb.ID+1); !errors.Is(err, helpscout.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
	})
	t.Run("403 without the permission", func(t *testing.T) {
		fake.SetRoutingPermission(helpscouttest.RoutingDenied)
		if _, _, err := c.Mailboxes.GetRouting(ctx, mb.ID); !errors.Is(err, helpscout.ErrForbidden) {
			t.Errorf("GetRouting err = %v, want ErrForbidden", err)
		}
		if _, err := c.Mailboxes.UpdateRouting(ctx, mb.ID, cfg); !errors.Is(err, helpscout.ErrForbidden) {
			t.Errorf("UpdateRouting err = %v, want ErrForbidden", err)
		}
	})
}
