package helpscouttest_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

func TestStateAPI(t *testing.T) {
	f := setup(t, helpscouttest.Options{})
	c := f.conv(t, helpscouttest.NewConversation{AssigneeID: f.ana})

	t.Run("lineitem with a status change", func(t *testing.T) {
		th, err := f.srv.AddLineitem(c.ID, helpscouttest.ThreadInput{UserID: f.ana, Body: "Workflow ran", Status: "pending"})
		if err != nil {
			t.Fatal(err)
		}
		if th.Type != "lineitem" || th.ActionText != "Workflow ran" || th.Body != "" || th.Status != "pending" {
			t.Errorf("thread = %+v", th)
		}
		m := f.do(t, "GET", fmt.Sprintf("/v2/conversations/%d/threads", c.ID), "").json(t)
		li := embedded(t, m, "threads")[0].(map[string]any)
		for _, absent := range []string{"body", "to", "cc", "bcc", "_embedded", "customer"} {
			if _, ok := li[absent]; ok {
				t.Errorf("lineitem has %q: %v", absent, li)
			}
		}
		if li["action"].(map[string]any)["text"] != "Workflow ran" {
			t.Errorf("action = %v", li["action"])
		}
	})
	t.Run("subject and tags", func(t *testing.T) {
		f.clock.Advance(time.Minute)
		if err := f.srv.SetSubject(c.ID, "Renamed", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := f.srv.SetTags(c.ID, []string{"qw-pin", "vip"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		got, _ := f.srv.Conversation(c.ID)
		var names []string
		for _, tg := range got.Tags {
			names = append(names, tg.Name)
		}
		if got.Subject != "Renamed" || !slices.Equal(names, []string{"qw-pin", "vip"}) || !got.UserUpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("subject %q tags %v userUpdatedAt %v", got.Subject, names, got.UserUpdatedAt)
		}
		m := f.do(t, "GET", "/v2/conversations?status=all&tag=qw-pin", "").json(t)
		if ids := ids(t, embedded(t, m, "conversations")); !slices.Equal(ids, []int64{c.ID}) {
			t.Errorf("tag filter = %v", ids)
		}
	})
	t.Run("errors", func(t *testing.T) {
		gone := f.conv(t, helpscouttest.NewConversation{})
		if err := f.srv.Delete(gone.ID); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			err  error
			want error
		}{
			{"reply to deleted", func() error {
				_, err := f.srv.AddAgentReply(gone.ID, helpscouttest.ThreadInput{Body: "x"})
				return err
			}(), helpscouttest.ErrNotFound},
			{"assign unknown user", f.srv.Assign(c.ID, 0, 777, time.Time{}), helpscouttest.ErrNotFound},
			{"bad status", f.srv.SetStatus(c.ID, 0, "open", time.Time{}), helpscouttest.ErrInvalid},
			{"move to unknown mailbox", f.srv.Move(c.ID, 0, 1, time.Time{}), helpscouttest.ErrNotFound},
			{"merge into itself", f.srv.Merge(c.ID, c.ID, 0, time.Time{}), helpscouttest.ErrInvalid},
			{"duplicate user id", func() error {
				_, err := f.srv.AddUser(helpscouttest.User{ID: f.ana})
				return err
			}(), helpscouttest.ErrInvalid},
			{"conversation without customer", func() error {
				_, err := f.srv.CreateConversation(helpscouttest.NewConversation{MailboxID: f.mailbox})
				return err
			}(), helpscouttest.ErrNotFound},
			{"delete twice", f.srv.Delete(gone.ID), helpscouttest.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if !errors.Is(tt.err, tt.want) {
					t.Errorf("err = %v, want %v", tt.err, tt.want)
				}
			})
		}
	})
	t.Run("snapshots are deep copies", func(t *testing.T) {
		a, _ := f.srv.Conversation(c.ID)
		a.Threads[0].Body = "mutated"
		a.Tags[0].Name = "mutated"
		b, _ := f.srv.Conversation(c.ID)
		if b.Threads[0].Body == "mutated" || b.Tags[0].Name == "mutated" {
			t.Error("snapshot shares memory with the fake")
		}
	})
}
