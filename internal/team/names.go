package team

import (
	"context"
	"strconv"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// Users reads the mirrored Help Scout users (a *store.DB).
type Users interface {
	Users(ctx context.Context) ([]store.User, error)
}

// Names maps user ids to display names for notes, logs and messages, with
// "user 42" for an id the mirror does not hold or when it cannot be read:
// a line naming an id beats no line.
func Names(ctx context.Context, db Users) func(int64) string {
	byID := map[int64]string{}
	if users, err := db.Users(ctx); err == nil {
		for _, u := range users {
			byID[u.ID] = DisplayName(u)
		}
	}
	return func(id int64) string {
		if name, ok := byID[id]; ok {
			return name
		}
		return "user " + strconv.FormatInt(id, 10)
	}
}
