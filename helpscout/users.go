package helpscout

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
)

// UsersService covers /v2/users and user availability (/v2/users/status).
type UsersService service

// User is a Help Scout user. Lists from /v2/users also hold entries with
// Type "team"; use IsTeam to keep only people.
type User struct {
	ID              int64    `json:"id"`
	FirstName       string   `json:"firstName,omitempty"`
	LastName        string   `json:"lastName,omitempty"`
	Email           string   `json:"email,omitempty"`
	Role            string   `json:"role,omitempty"` // owner, admin, user
	Timezone        string   `json:"timezone,omitempty"`
	PhotoURL        string   `json:"photoUrl,omitempty"`
	CreatedAt       Time     `json:"createdAt,omitzero"`
	UpdatedAt       Time     `json:"updatedAt,omitzero"`
	Type            string   `json:"type,omitempty"` // user or team
	Mention         string   `json:"mention,omitempty"`
	Initials        string   `json:"initials,omitempty"`
	JobTitle        string   `json:"jobTitle,omitempty"`
	Phone           string   `json:"phone,omitempty"`
	AlternateEmails []string `json:"alternateEmails,omitempty"`
}

// IsTeam reports whether the entry is a team listed among users.
func (u User) IsTeam() bool { return u.Type == PersonTeam }

// Name is "First Last", trimmed.
func (u User) Name() string {
	switch {
	case u.FirstName == "":
		return u.LastName
	case u.LastName == "":
		return u.FirstName
	}
	return u.FirstName + " " + u.LastName
}

// User availability values.
const (
	UserStatusActive = "active"
	UserStatusAway   = "away"
)

// UserStatus is a user's availability (GET /v2/users/{id}/status).
type UserStatus struct {
	UserID int64           `json:"userId"`
	Email  EmailUserStatus `json:"email,omitzero"`
	Chat   ChatUserStatus  `json:"chat,omitzero"`
}

// Away reports whether the user set themselves away for email.
func (s UserStatus) Away() bool { return s.Email.Status == UserStatusAway }

// EmailUserStatus is the email side of a user's availability, the one that
// drives routing.
type EmailUserStatus struct {
	Status       string       `json:"status,omitempty"` // active or away
	UpdatedAt    Time         `json:"updatedAt,omitzero"`
	Source       string       `json:"source,omitempty"` // ui, api, presence_detection
	CustomStatus CustomStatus `json:"customStatus,omitzero"`
}

// CustomStatus is the text a user shows beside their status.
type CustomStatus struct {
	Text      string `json:"text,omitempty"`
	Emoji     string `json:"emoji,omitempty"`
	EmojiName string `json:"emojiName,omitempty"`
}

// ChatUserStatus is the chat side: unavailable, available, assign, custom.
type ChatUserStatus struct {
	Status string `json:"status,omitempty"`
}

// UserListOptions filter GET /v2/users.
type UserListOptions struct {
	Email   string // exact match
	Mailbox int64  // users with access to this mailbox
	Page    int    // 1-based; 0 means the first page
}

func (o *UserListOptions) values() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	if o.Email != "" {
		q.Set("email", o.Email)
	}
	if o.Mailbox != 0 {
		q.Set("mailbox", strconv.FormatInt(o.Mailbox, 10))
	}
	if o.Page > 1 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	return q
}

// List fetches one page (50) of users. Teams appear in it too (IsTeam).
func (s *UsersService) List(ctx context.Context, opts *UserListOptions) ([]User, *Response, error) {
	users, resp, err := getPage[User](ctx, s.client, "v2/users", keyUsers, opts.values())
	if err != nil {
		page := 1
		if opts != nil {
			page = max(opts.Page, 1)
		}
		return nil, resp, fmt.Errorf("list users (page %d): %w", page, err)
	}
	return users, resp, nil
}

// All walks every page of users from opts.Page on, on a copy of opts.
func (s *UsersService) All(ctx context.Context, opts *UserListOptions) iter.Seq2[User, error] {
	var o UserListOptions
	if opts != nil {
		o = *opts
	}
	return walk(ctx, o.Page, func(ctx context.Context, page int) ([]User, *Response, error) {
		p := o
		p.Page = page
		return s.List(ctx, &p)
	})
}

// Get fetches one user.
func (s *UsersService) Get(ctx context.Context, id int64) (*User, *Response, error) {
	if id <= 0 {
		return nil, nil, fmt.Errorf("get user: invalid id %d", id)
	}
	u := new(User)
	resp, err := s.client.get(ctx, "v2/users/"+strconv.FormatInt(id, 10), nil, u)
	if err != nil {
		return nil, resp, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, resp, nil
}

// Me fetches the user the token belongs to.
func (s *UsersService) Me(ctx context.Context) (*User, *Response, error) {
	u := new(User)
	resp, err := s.client.get(ctx, "v2/users/me", nil, u)
	if err != nil {
		return nil, resp, fmt.Errorf("get current user: %w", err)
	}
	return u, resp, nil
}

// Statuses fetches one page (50) of every user's availability.
func (s *UsersService) Statuses(ctx context.Context, page int) ([]UserStatus, *Response, error) {
	st, resp, err := getPage[UserStatus](ctx, s.client, "v2/users/status", keyUserStatuses, pageQuery(page))
	if err != nil {
		return nil, resp, fmt.Errorf("list user statuses (page %d): %w", max(page, 1), err)
	}
	return st, resp, nil
}

// AllStatuses walks every page of user availability.
func (s *UsersService) AllStatuses(ctx context.Context) iter.Seq2[UserStatus, error] {
	return walk(ctx, 1, s.Statuses)
}

// Status fetches one user's availability.
func (s *UsersService) Status(ctx context.Context, userID int64) (*UserStatus, *Response, error) {
	if userID <= 0 {
		return nil, nil, fmt.Errorf("get user status: invalid id %d", userID)
	}
	st := new(UserStatus)
	resp, err := s.client.get(ctx, "v2/users/"+strconv.FormatInt(userID, 10)+"/status", nil, st)
	if err != nil {
		return nil, resp, fmt.Errorf("get status of user %d: %w", userID, err)
	}
	return st, resp, nil
}
