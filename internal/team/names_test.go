package team_test

import (
	"context"
	"errors"
	"testing"
	"time"

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

func TestPercentile(t *testing.T) {
	sorted := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for q, want := range map[float64]time.Duration{0: 1, 0.5: 5, 0.9: 9, 0.91: 10, 1: 10} {
		if got := team.Percentile(sorted, q); got != want {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", q, got, want)
		}
	}
	if got := team.Percentile([]time.Duration{7}, 0.9); got != 7 {
		t.Errorf("Percentile of one value = %v, want it", got)
	}
	if got := team.Percentile(nil, 0.5); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
}
