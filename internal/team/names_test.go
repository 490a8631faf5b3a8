package team_test

import (
	"context"
	"errors"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

type users struct {
	list []store.User
	err  error
}

func (u users) Users(context.Context) ([]store.User, error) { return u.list, u.err }

func TestNames(t *testing.T) {
	names := team.Names(context.Background(), users{list: []store.User{
		{ID: 1, First: "Ana", Last: "Silva", Email: "ana@example.com"},
		{ID: 2, Email: "ben@example.com"},
	}})
	for id, want := range map[int64]string{1: "Ana Silva", 2: "ben@example.com", 3: "user 3"} {
		if got := names(id); got != want {
			t.Errorf("names(%d) = %q, want %q", id, got, want)
		}
	}
	if got := team.Names(context.Background(), users{err: errors.New("disk")})(1); got != "user 1" {
		t.Errorf("with the mirror unreadable, names(1) = %q, want user 1", got)
	}
}
