package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func pendingIDs(t *testing.T, db *DB, maxAttempts int) []int64 {
	t.Helper()
	es, err := db.PendingWebhooks(context.Background(), maxAttempts, 0)
	if err != nil {
		t.Fatalf("PendingWebhooks: %v", err)
	}
	ids := []int64{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestWebhookInboxLifecycle(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	body := []byte(`{"id":123}`)

	id1, err := db.AddWebhook(ctx, "convo.created", body, at(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	id2, err := db.AddWebhook(ctx, "convo.assigned", []byte(`{"id":124}`), time.Time{}) // stamped by the clock
	if err != nil {
		t.Fatal(err)
	}
	rej, err := db.RejectWebhook(ctx, "convo.created", []byte(`{not json`), at(time.Minute), "invalid character 'n'")
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := db.InsertWebhook(ctx, WebhookEvent{Event: "convo.created", Body: body, SignatureOK: false})
	if err != nil {
		t.Fatal(err)
	}

	got, err := db.Webhook(ctx, id1)
	if err != nil {
		t.Fatal(err)
	}
	want := WebhookEvent{ID: id1, ReceivedAt: at(time.Minute), Event: "convo.created", Body: body, SignatureOK: true,
		Status: WebhookPending}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored event (-want +got):\n%s", diff)
	}
	if e, _ := db.Webhook(ctx, id2); !e.ReceivedAt.Equal(t0) {
		t.Errorf("default ReceivedAt = %v, want the clock's %v", e.ReceivedAt, t0)
	}
	if e, _ := db.Webhook(ctx, rej); e.Status != WebhookRejected || e.LastError == "" {
		t.Errorf("rejected event = %+v, want status rejected with the reason", e)
	}

	// Rejected and unsigned events are never handed out.
	if diff := cmp.Diff([]int64{id1, id2}, pendingIDs(t, db, 3)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	if e, err := db.Webhook(ctx, unsigned); err != nil || e.SignatureOK || e.Status != WebhookPending {
		t.Errorf("unsigned event = %+v, %v; want stored, pending, signature not ok", e, err)
	}

	// id1 fails twice, then succeeds; id2 fails until the cap.
	clk.Set(at(time.Hour))
	for range 2 {
		if err := db.MarkWebhookFailed(ctx, id1, "helpscout: 503"); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := db.Webhook(ctx, id1); e.Status != WebhookFailed || e.Attempts != 2 || e.LastError != "helpscout: 503" ||
		!e.ProcessedAt.Equal(at(time.Hour)) {
		t.Errorf("after two failures: %+v", e)
	}
	if err := db.MarkWebhookDone(ctx, id1); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkWebhookDone(ctx, id1); err != nil {
		t.Errorf("marking a done event done again: %v, want nil", err)
	}
	if e, _ := db.Webhook(ctx, id1); e.Status != WebhookDone || e.Attempts != 3 || e.LastError != "" {
		t.Errorf("after success: %+v, want done with 3 attempts and no error", e)
	}
	for range 3 {
		if err := db.MarkWebhookFailed(ctx, id2, "boom"); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]int64{}, pendingIDs(t, db, 3)); diff != "" {
		t.Errorf("pending with cap 3 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{id2}, pendingIDs(t, db, 0)); diff != "" {
		t.Errorf("pending without cap (-want +got):\n%s", diff)
	}

	for name, err := range map[string]error{
		"fail a done event":       db.MarkWebhookFailed(ctx, id1, "late"),
		"complete a rejected one": db.MarkWebhookDone(ctx, rej),
	} {
		if !errors.Is(err, ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
	}
	if err := db.MarkWebhookDone(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("mark an unknown event: %v, want ErrNotFound", err)
	}
	if _, err := db.InsertWebhook(ctx, WebhookEvent{Status: WebhookDone}); err == nil {
		t.Error("inserting an event already done succeeded")
	}

	// Pruning removes only done events processed before the cutoff.
	n, err := db.PruneWebhooks(ctx, at(2*time.Hour))
	if err != nil || n != 1 {
		t.Errorf("PruneWebhooks = %d, %v; want 1, nil", n, err)
	}
	if _, err := db.Webhook(ctx, id1); !errors.Is(err, ErrNotFound) {
		t.Errorf("pruned event still readable: %v", err)
	}
	if _, err := db.Webhook(ctx, rej); err != nil {
		t.Errorf("rejected event pruned: %v", err)
	}
}

func TestWebhookEventIsDurableBeforeReturn(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/qw.db"
	db, _ := openAt(t, path)
	ctx := context.Background()
	id, err := db.AddWebhook(ctx, "convo.created", []byte(`{"id":1}`), t0)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, _ := openAt(t, path)
	if diff := cmp.Diff([]int64{id}, pendingIDs(t, db2, 0)); diff != "" {
		t.Errorf("pending after reopen (-want +got):\n%s", diff)
	}
}
