package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSteeredRotationRoundTripAndAudit(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if _, ok, err := db.SteeredRotation(ctx, 7); err != nil || ok {
		t.Fatalf("never steered: ok %v, err %v; want nothing", ok, err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	first := SteeredRotation{MailboxID: 7, Ceiling: []int64{3, 1, 2}, Written: []int64{3, 1, 2}, UpdatedAt: at}
	if err := db.SaveSteeredRotation(ctx, first, nil); err != nil {
		t.Fatal(err)
	}
	// A narrowed rotation, with its audit entry, in the same write.
	narrowed := SteeredRotation{MailboxID: 7, Ceiling: []int64{1, 2, 3}, Written: []int64{2}, UpdatedAt: at.Add(time.Minute)}
	change := RotationChange{MailboxID: 7, At: at.Add(time.Minute), Before: []int64{1, 2, 3}, After: []int64{2},
		By: RotationByQueuewrangler, Why: "Ana is away; Cy is off shift"}
	if err := db.SaveSteeredRotation(ctx, narrowed, &change); err != nil {
		t.Fatal(err)
	}
	// Someone else's edit to an empty rotation of another inbox.
	other := RotationChange{MailboxID: 8, At: at.Add(2 * time.Minute), Before: []int64{4}, After: nil, By: RotationByOther, Why: "adopted"}
	if err := db.SaveSteeredRotation(ctx, SteeredRotation{MailboxID: 8, UpdatedAt: at}, &other); err != nil {
		t.Fatal(err)
	}

	got, ok, err := db.SteeredRotation(ctx, 7)
	if err != nil || !ok {
		t.Fatalf("steered rotation: ok %v, err %v", ok, err)
	}
	if diff := cmp.Diff(narrowed, got); diff != "" {
		t.Errorf("steered rotation (-want +got):\n%s", diff)
	}
	if got, _, _ := db.SteeredRotation(ctx, 8); len(got.Ceiling) != 0 || len(got.Written) != 0 {
		t.Errorf("empty sets read back as %v and %v", got.Ceiling, got.Written)
	}

	all, err := db.RotationChanges(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].MailboxID != 8 || all[1].MailboxID != 7 {
		t.Fatalf("changes %+v: want mailbox 8's then 7's, newest first", all)
	}
	change.ID = all[1].ID
	if diff := cmp.Diff(change, all[1]); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
	if one, _ := db.RotationChanges(ctx, 7, 10); len(one) != 1 || one[0].MailboxID != 7 {
		t.Errorf("mailbox 7's changes: %+v", one)
	}
}

func TestLatestConversationID(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	if id, err := db.LatestConversationID(ctx); err != nil || id != 0 {
		t.Fatalf("empty mirror: %d, %v; want 0", id, err)
	}
	for _, id := range []int64{30, 12} {
		if _, err := db.ApplyConversation(ctx, ConversationUpdate{Conversation: Conversation{ID: id, Number: id, MailboxID: 1,
			Status: "active", State: "published", CreatedAt: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := db.LatestConversationID(ctx); err != nil || id != 30 {
		t.Errorf("latest = %d, %v; want 30", id, err)
	}
}
