package helpscouttest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

const hookSecret = "s3cret-for-tests"

// receiver is a webhook endpoint that verifies signatures independently of
// the fake and can be told to fail the first n attempts.
type receiver struct {
	t  *testing.T
	ts *httptest.Server

	mu       sync.Mutex
	failLeft int
	got      []received
}

type received struct {
	Event string
	ID    int64
	Body  string
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	rv := &receiver{t: t, failLeft: failFirst}
	rv.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read: %v", err)
			return
		}
		mac := hmac.New(sha1.New, []byte(hookSecret))
		mac.Write(body)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(want), []byte(r.Header.Get("X-HelpScout-Signature"))) {
			t.Errorf("receiver: bad signature %q for %s", r.Header.Get("X-HelpScout-Signature"), body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("receiver: Content-Type %q", ct)
		}
		rv.mu.Lock()
		defer rv.mu.Unlock()
		if rv.failLeft > 0 {
			rv.failLeft--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var v struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("receiver: body %s: %v", body, err)
		}
		rv.got = append(rv.got, received{Event: r.Header.Get("X-HelpScout-Event"), ID: v.ID, Body: string(body)})
	}))
	t.Cleanup(rv.ts.Close)
	return rv
}

func (rv *receiver) received() []received {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.got)
}

func waitHooks(t *testing.T, s *helpscouttest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
}

func hookOpts(url string) helpscouttest.Options {
	return helpscouttest.Options{Webhook: helpscouttest.WebhookOptions{
		URL: url, Secret: hookSecret, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, MaxAttempts: 3,
	}}
}

func TestSignKnownVector(t *testing.T) {
	// From the official PHP SDK example (shared/helpscout-samples/signature-vectors.json).
	if got, want := helpscouttest.Sign("asdfasdf", []byte(`{"id":123}`)), "7S2+kN8bZsrdAEADJ+yYfWWsf/4="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookDelivery(t *testing.T) {
	rv := newReceiver(t, 0)
	f := setup(t, hookOpts(rv.ts.URL))
	c := f.conv(t, helpscouttest.NewConversation{})
	other := f.conv(t, helpscouttest.NewConversation{})
	steps := []func() error{
		func() error {
			_, err := f.srv.AddCustomerThread(c.ID, helpscouttest.ThreadInput{Body: "more"})
			return err
		},
		func() error {
			_, err := f.srv.AddAgentReply(c.ID, helpscouttest.ThreadInput{UserID: f.ana, Body: "hi", Status: "pending"})
			return err
		},
		func() error {
			if r := f.do(t, "PATCH", fmt.Sprintf("/v2/conversations/%d", c.ID), fmt.Sprintf(`{"op":"replace","path":"/assignTo","value":%d}`, f.ben)); r.code != 204 {
				return fmt.Errorf("patch: %d", r.code)
			}
			return nil
		},
		func() error {
			if r := f.do(t, "POST", fmt.Sprintf("/v2/conversations/%d/notes", c.ID), `{"text":"moved"}`); r.code != 201 {
				return fmt.Errorf("note: %d", r.code)
			}
			return nil
		},
		func() error { return f.srv.SetStatus(c.ID, f.ben, "closed", time.Time{}) },
		func() error { return f.srv.Merge(other.ID, c.ID, 0, time.Time{}) },
		func() error { return f.srv.Delete(c.ID) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	waitHooks(t, f.srv)

	var got []string
	for _, r := range rv.received() {
		got = append(got, fmt.Sprintf("%s %d", r.Event, r.ID))
	}
	want := []string{
		fmt.Sprintf("convo.created %d", c.ID),
		fmt.Sprintf("convo.created %d", other.ID),
		fmt.Sprintf("convo.customer.reply.created %d", c.ID),
		fmt.Sprintf("convo.agent.reply.created %d", c.ID),
		fmt.Sprintf("convo.status %d", c.ID), // the reply set pending
		fmt.Sprintf("convo.assigned %d", c.ID),
		fmt.Sprintf("convo.note.created %d", c.ID),
		fmt.Sprintf("convo.status %d", c.ID),
		fmt.Sprintf("convo.merged %d", c.ID),
		fmt.Sprintf("convo.deleted %d", c.ID),
	}
	if diff := cmp.Diff(got, want); diff != "" {
		t.Errorf("events (-got +want):\n%s", diff)
	}
	rec := rv.received()
	if last := rec[len(rec)-1]; last.Body != fmt.Sprintf(`{"id":%d}`, c.ID) {
		t.Errorf("convo.deleted body = %s", last.Body)
	}
	var assigned map[string]any
	if err := json.Unmarshal([]byte(rec[5].Body), &assigned); err != nil {
		t.Fatal(err)
	}
	if num(assigned["assignee"].(map[string]any)["id"]) != f.ben || assigned["status"] != "pending" {
		t.Errorf("convo.assigned body = %v", assigned)
	}
	if _, ok := assigned["_embedded"]; ok {
		t.Error("webhook body embeds threads")
	}
	if self := assigned["_links"].(map[string]any)["self"].(map[string]any)["href"]; self != fmt.Sprintf("%s/v2/conversations/%d", f.ts.URL, c.ID) {
		t.Errorf("self link = %v", self)
	}
	for _, d := range f.srv.WebhookDeliveries() {
		if !d.Delivered || d.Attempts != 1 || d.Signature != helpscouttest.Sign(hookSecret, d.Body) {
			t.Errorf("delivery = %+v", d)
		}
	}
}

func TestWebhookRetry(t *testing.T) {
	t.Run("succeeds after failures", func(t *testing.T) {
		rv := newReceiver(t, 2)
		f := setup(t, hookOpts(rv.ts.URL))
		c := f.conv(t, helpscouttest.NewConversation{})
		waitHooks(t, f.srv)
		if got := rv.received(); len(got) != 1 || got[0].ID != c.ID {
			t.Errorf("received = %v", got)
		}
		d := f.srv.WebhookDeliveries()
		if len(d) != 1 || d[0].Attempts != 3 || !d[0].Delivered || d[0].StatusCode != 200 {
			t.Errorf("deliveries = %+v", d)
		}
	})
	t.Run("gives up after MaxAttempts", func(t *testing.T) {
		rv := newReceiver(t, 100)
		f := setup(t, hookOpts(rv.ts.URL))
		f.conv(t, helpscouttest.NewConversation{})
		f.conv(t, helpscouttest.NewConversation{})
		waitHooks(t, f.srv)
		d := f.srv.WebhookDeliveries()
		if len(d) != 2 || d[0].Attempts != 3 || d[0].Delivered || d[0].StatusCode != 500 {
			t.Errorf("deliveries = %+v", d)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL
		dead.Close()
		f := setup(t, hookOpts(url))
		f.conv(t, helpscouttest.NewConversation{})
		waitHooks(t, f.srv)
		d := f.srv.WebhookDeliveries()
		if len(d) != 1 || d[0].Attempts != 3 || d[0].Delivered || d[0].Err == "" {
			t.Errorf("deliveries = %+v", d)
		}
	})
}

func TestWebhookChaos(t *testing.T) {
	run := func(t *testing.T, faults helpscouttest.Faults, n int) (*fixture, []received, []int64) {
		rv := newReceiver(t, 0)
		f := setup(t, hookOpts(rv.ts.URL))
		f.srv.SetFaults(faults)
		f.srv.PauseWebhooks()
		var ids []int64
		for range n {
			ids = append(ids, f.conv(t, helpscouttest.NewConversation{}).ID)
		}
		f.srv.ResumeWebhooks()
		waitHooks(t, f.srv)
		return f, rv.received(), ids
	}
	t.Run("drop", func(t *testing.T) {
		f, got, _ := run(t, helpscouttest.Faults{WebhookDropProbability: 1}, 3)
		if len(got) != 0 {
			t.Errorf("received %v, want nothing", got)
		}
		for _, d := range f.srv.WebhookDeliveries() {
			if !d.Dropped || d.Attempts != 0 {
				t.Errorf("delivery = %+v", d)
			}
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		_, got, ids := run(t, helpscouttest.Faults{WebhookDuplicateProbability: 1}, 2)
		var gotIDs []int64
		for _, r := range got {
			gotIDs = append(gotIDs, r.ID)
		}
		if want := []int64{ids[0], ids[0], ids[1], ids[1]}; !slices.Equal(gotIDs, want) {
			t.Errorf("ids = %v, want %v", gotIDs, want)
		}
	})
	t.Run("reorder", func(t *testing.T) {
		_, got, ids := run(t, helpscouttest.Faults{WebhookReorderProbability: 1}, 4)
		var gotIDs []int64
		for _, r := range got {
			gotIDs = append(gotIDs, r.ID)
		}
		if want := []int64{ids[1], ids[0], ids[3], ids[2]}; !slices.Equal(gotIDs, want) {
			t.Errorf("ids = %v, want %v (pairs swapped)", gotIDs, want)
		}
	})
}

func TestWebhookSettings(t *testing.T) {
	t.Run("seeding is silent", func(t *testing.T) {
		rv := newReceiver(t, 0)
		f := setup(t, hookOpts(rv.ts.URL))
		if _, err := f.srv.Seed(helpscouttest.GenerateConfig{Seed: 1, Conversations: 20}); err != nil {
			t.Fatal(err)
		}
		waitHooks(t, f.srv)
		if got := rv.received(); len(got) != 0 {
			t.Errorf("seeding sent %d webhooks", len(got))
		}
	})
	t.Run("set at runtime, filtered by event, test event", func(t *testing.T) {
		rv := newReceiver(t, 0)
		f := setup(t, helpscouttest.Options{})
		c := f.conv(t, helpscouttest.NewConversation{}) // webhooks off: nothing queued
		f.srv.SetWebhook(helpscouttest.WebhookOptions{URL: rv.ts.URL, Secret: hookSecret, Events: []string{"convo.assigned"}})
		if _, err := f.srv.AddNote(c.ID, helpscouttest.ThreadInput{Body: "n"}); err != nil {
			t.Fatal(err)
		}
		if err := f.srv.Assign(c.ID, 0, f.ana, time.Time{}); err != nil {
			t.Fatal(err)
		}
		f.srv.SendTestEvent()
		waitHooks(t, f.srv)
		var got []string
		for _, r := range rv.received() {
			got = append(got, r.Event)
		}
		if want := []string{"convo.assigned", "helpscout.test"}; !slices.Equal(got, want) {
			t.Errorf("events = %v, want %v", got, want)
		}
	})
	t.Run("close stops the worker", func(t *testing.T) {
		rv := newReceiver(t, 1000)
		s := helpscouttest.New(helpscouttest.Options{Webhook: helpscouttest.WebhookOptions{URL: rv.ts.URL, Secret: hookSecret, Backoff: time.Hour}})
		mb, _ := s.AddMailbox(helpscouttest.Mailbox{})
		cu, _ := s.AddCustomer(helpscouttest.Customer{})
		if _, err := s.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cu.ID}); err != nil {
			t.Fatal(err)
		}
		// The worker is now waiting an hour before its retry; Close must not.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}

// TestNoWebhookFromRevokedMailbox: the app's webhooks cover what its user
// can open; a change to a conversation of a mailbox RevokeMailbox took, its
// deletion too, sends nothing, while the other mailbox's still do.
func TestNoWebhookFromRevokedMailbox(t *testing.T) {
	rv := newReceiver(t, 0)
	f := setup(t, hookOpts(rv.ts.URL))
	hidden := f.conv(t, helpscouttest.NewConversation{MailboxID: f.mailbox2})
	shown := f.conv(t, helpscouttest.NewConversation{})
	waitHooks(t, f.srv)
	before := len(rv.received())
	if err := f.srv.RevokeMailbox(f.mailbox2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.AddCustomerThread(hidden.ID, helpscouttest.ThreadInput{Body: "more"}); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Delete(hidden.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.AddCustomerThread(shown.ID, helpscouttest.ThreadInput{Body: "more"}); err != nil {
		t.Fatal(err)
	}
	waitHooks(t, f.srv)
	got := rv.received()[before:]
	if len(got) != 1 || got[0].ID != shown.ID {
		t.Errorf("webhooks after the revoke: %+v; want one, of conversation %d", got, shown.ID)
	}
}
