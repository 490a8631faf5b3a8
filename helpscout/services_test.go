package helpscout

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	userJSON = `{"id":900003,"firstName":"Ann","lastName":"Lee","email":"ann@example.com","role":"admin",
		"timezone":"America/New_York","photoUrl":"https://x/u.jpg","createdAt":"2017-10-25T17:37:19Z",
		"updatedAt":"2019-06-02T13:47:17Z","type":"user","mention":"ann","initials":"AL","jobTitle":"Lead",
		"phone":"555","alternateEmails":["a@x.com"],"_links":{"self":{"href":"x"}}}`
	teamAsUserJSON = `{"id":334790,"firstName":"Tier 2","lastName":"","email":"","role":"user","timezone":"UTC","type":"team"}`
	statusJSON     = `{"userId":256,"email":{"status":"away","updatedAt":"2026-03-02T08:00:00Z","performedBy":{"id":256},
		"source":"ui","customStatus":{"text":"Lunch","emoji":"🍜","emojiName":"ramen"}},
		"chat":{"status":"unavailable","mailboxStatuses":{"85":"available"}}}`
	teamJSON    = `{"id":4,"name":"Engineers","timezone":"America/New_York","photoUrl":"p","mention":"engs","initials":"E","createdAt":"2011-04-01T03:18:33Z","updatedAt":"2012-07-24T20:18:33Z"}`
	mailboxJSON = `{"id":900002,"name":"Support","slug":"fe52","email":"help@example.com","createdAt":"2017-10-30T18:36:04Z","updatedAt":"2019-05-06T19:31:28Z"}`
	folderJSON  = `{"id":1675979,"name":"Unassigned","type":"open","userId":0,"totalCount":23,"activeCount":23,"updatedAt":"2019-06-02T13:47:21Z"}`
)

func wantUser(t *testing.T) User {
	return User{
		ID: 900003, FirstName: "Ann", LastName: "Lee", Email: "ann@example.com", Role: "admin",
		Timezone: "America/New_York", PhotoURL: "https://x/u.jpg",
		CreatedAt: mustTime(t, "2017-10-25T17:37:19Z"), UpdatedAt: mustTime(t, "2019-06-02T13:47:17Z"),
		Type: "user", Mention: "ann", Initials: "AL", JobTitle: "Lead", Phone: "555", AlternateEmails: []string{"a@x.com"},
	}
}

func wantStatus(t *testing.T) UserStatus {
	return UserStatus{
		UserID: 256,
		Email: EmailUserStatus{Status: "away", UpdatedAt: mustTime(t, "2026-03-02T08:00:00Z"), Source: "ui",
			CustomStatus: CustomStatus{Text: "Lunch", Emoji: "🍜", EmojiName: "ramen"}},
		Chat: ChatUserStatus{Status: "unavailable"},
	}
}

// serviceCase is one call of a service method against a canned answer.
type serviceCase struct {
	name      string
	path      string
	wantQuery url.Values
	body      string
	call      func(ctx context.Context, c *Client) (any, *Response, error)
	want      any
	wantPage  PageInfo
}

func runServiceCases(t *testing.T, tests []serviceCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			mux.HandleFunc(tt.path, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, http.MethodGet)
				testQuery(t, r, tt.wantQuery)
				writeJSON(t, w, http.StatusOK, tt.body)
			})
			got, resp, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPage, resp.Page); diff != "" {
				t.Errorf("Page mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// writeCase is one call of a write method against a server that checks the
// request and answers 204.
type writeCase struct {
	name     string
	method   string
	path     string
	call     func(ctx context.Context, c *Client) (*Response, error)
	wantBody string
}

func runWriteCases(t *testing.T, tests []writeCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			mux.HandleFunc(tt.path, func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, tt.method)
				testQuery(t, r, url.Values{})
				testJSONBody(t, r, tt.wantBody)
				w.Header().Set("X-RateLimit-Remaining-Minute", "37")
				w.WriteHeader(http.StatusNoContent)
			})
			resp, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if resp.StatusCode != http.StatusNoContent || resp.Rate.Remaining != 37 {
				t.Errorf("response = %d, remaining %d; want 204, 37", resp.StatusCode, resp.Rate.Remaining)
			}
		})
	}
}

func TestThreadsService(t *testing.T) {
	t.Parallel()
	page2 := PageInfo{Size: 25, TotalElements: 27, TotalPages: 2, Number: 2}
	runServiceCases(t, []serviceCase{
		{
			name: "list first page", path: "/v2/conversations/2201934001/threads", wantQuery: url.Values{},
			body: halList("threads", []string{`{"id":70001,"type":"customer","state":"published","createdBy":{"id":9,"type":"customer"},"createdAt":"2026-03-02T09:14:05Z"}`},
				PageInfo{Size: 25, TotalElements: 1, TotalPages: 1, Number: 1}),
			call: func(ctx context.Context, c *Client) (any, *Response, error) {
				return c.Threads.List(ctx, 2201934001, 0)
			},
			want: []Thread{{ID: 70001, Type: "customer", State: "published", CreatedBy: Person{ID: 9, Type: "customer"},
				CreatedAt: mustTime(t, "2026-03-02T09:14:05Z")}},
			wantPage: PageInfo{Size: 25, TotalElements: 1, TotalPages: 1, Number: 1},
		},
		{
			name: "list page 2", path: "/v2/conversations/5/threads", wantQuery: url.Values{"page": {"2"}},
			body:     halList("threads", []string{`{"id":1,"type":"note"}`, `{"id":2,"type":"lineitem"}`}, page2),
			call:     func(ctx context.Context, c *Client) (any, *Response, error) { return c.Threads.List(ctx, 5, 2) },
			want:     []Thread{{ID: 1, Type: "note"}, {ID: 2, Type: "lineitem"}},
			wantPage: page2,
		},
	})
}

func TestUsersService(t *testing.T) {
	t.Parallel()
	one := PageInfo{Size: 50, TotalElements: 2, TotalPages: 1, Number: 1}
	runServiceCases(t, []serviceCase{
		{
			name: "list with filters", path: "/v2/users",
			wantQuery: url.Values{"email": {"ann@example.com"}, "mailbox": {"85"}, "page": {"3"}},
			body:      halList("users", []string{userJSON, teamAsUserJSON}, one),
			call: func(ctx context.Context, c *Client) (any, *Response, error) {
				return c.Users.List(ctx, &UserListOptions{Email: "ann@example.com", Mailbox: 85, Page: 3})
			},
			want:     []User{wantUser(t), {ID: 334790, FirstName: "Tier 2", Role: "user", Timezone: "UTC", Type: "team"}},
			wantPage: one,
		},
		{
			name: "get", path: "/v2/users/900003", wantQuery: url.Values{}, body: userJSON,
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Users.Get(ctx, 900003) },
			want: ptr(wantUser(t)),
		},
		{
			name: "me", path: "/v2/users/me", wantQuery: url.Values{}, body: userJSON,
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Users.Me(ctx) },
			want: ptr(wantUser(t)),
		},
		{
			name: "statuses", path: "/v2/users/status", wantQuery: url.Values{"page": {"2"}},
			body: halList("userStatuses", []string{statusJSON}, PageInfo{Size: 50, TotalElements: 51, TotalPages: 2, Number: 2}),
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Users.Statuses(ctx, 2) },
			want: []UserStatus{wantStatus(t)}, wantPage: PageInfo{Size: 50, TotalElements: 51, TotalPages: 2, Number: 2},
		},
		{
			name: "status", path: "/v2/users/256/status", wantQuery: url.Values{}, body: statusJSON,
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Users.Status(ctx, 256) },
			want: ptr(wantStatus(t)),
		},
	})
}

func TestTeamsService(t *testing.T) {
	t.Parallel()
	one := PageInfo{Size: 50, TotalElements: 1, TotalPages: 1, Number: 1}
	team := Team{ID: 4, Name: "Engineers", Timezone: "America/New_York", PhotoURL: "p", Mention: "engs", Initials: "E",
		CreatedAt: mustTime(t, "2011-04-01T03:18:33Z"), UpdatedAt: mustTime(t, "2012-07-24T20:18:33Z")}
	runServiceCases(t, []serviceCase{
		{
			name: "list", path: "/v2/teams", wantQuery: url.Values{}, body: halList("teams", []string{teamJSON}, one),
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Teams.List(ctx, 1) },
			want: []Team{team}, wantPage: one,
		},
		{
			name: "members", path: "/v2/teams/4/members", wantQuery: url.Values{"page": {"2"}}, body: halList("users", []string{userJSON}, one),
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Teams.Members(ctx, 4, 2) },
			want: []User{wantUser(t)}, wantPage: one,
		},
	})
}

func TestMailboxesService(t *testing.T) {
	t.Parallel()
	one := PageInfo{Size: 50, TotalElements: 1, TotalPages: 1, Number: 1}
	box := Mailbox{ID: 900002, Name: "Support", Slug: "fe52", Email: "help@example.com",
		CreatedAt: mustTime(t, "2017-10-30T18:36:04Z"), UpdatedAt: mustTime(t, "2019-05-06T19:31:28Z")}
	runServiceCases(t, []serviceCase{
		{
			name: "list", path: "/v2/mailboxes", wantQuery: url.Values{}, body: halList("mailboxes", []string{mailboxJSON}, one),
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Mailboxes.List(ctx, 0) },
			want: []Mailbox{box}, wantPage: one,
		},
		{
			name: "get", path: "/v2/mailboxes/900002", wantQuery: url.Values{}, body: mailboxJSON,
			call: func(ctx context.Context, c *Client) (any, *Response, error) { return c.Mailboxes.Get(ctx, 900002) },
			want: &box,
		},
		{
			name: "folders", path: "/v2/mailboxes/900002/folders", wantQuery: url.Values{}, body: halList("folders", []string{folderJSON}, one),
			call: func(ctx context.Context, c *Client) (any, *Response, error) {
				return c.Mailboxes.Folders(ctx, 900002, 1)
			},
			want: []Folder{{ID: 1675979, Name: "Unassigned", Type: "open", TotalCount: 23, ActiveCount: 23,
				UpdatedAt: mustTime(t, "2019-06-02T13:47:21Z")}},
			wantPage: one,
		},
	})
}

func ptr[T any](v T) *T { return &v }

// TestIterators walks every All* iterator over three pages and checks each
// asks for pages 1, 2, 3 exactly once and yields everything in order.
func TestIterators(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type walkFn func(c *Client) ([]int64, error)
	collect := func(yieldIDs func(c *Client, add func(int64, error) bool)) walkFn {
		return func(c *Client) ([]int64, error) {
			var ids []int64
			var firstErr error
			yieldIDs(c, func(id int64, err error) bool {
				if err != nil {
					firstErr = err
					return false
				}
				ids = append(ids, id)
				return true
			})
			return ids, firstErr
		}
	}
	tests := []struct {
		name, path, key, item string
		walk                  walkFn
	}{
		{"Conversations.All", "/v2/conversations", "conversations", `{"id":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Conversations.All(ctx, nil) {
				if !add(v.ID, err) {
					return
				}
			}
		})},
		{"Threads.All", "/v2/conversations/9/threads", "threads", `{"id":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Threads.All(ctx, 9) {
				if !add(v.ID, err) {
					return
				}
			}
		})},
		{"Users.All", "/v2/users", "users", `{"id":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Users.All(ctx, nil) {
				if !add(v.ID, err) {
					return
				}
			}
		})},
		{"Users.AllStatuses", "/v2/users/status", "userStatuses", `{"userId":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Users.AllStatuses(ctx) {
				if !add(v.UserID, err) {
					return
				}
			}
		})},
		{"Teams.All", "/v2/teams", "teams", `{"id":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Teams.All(ctx) {
				if !add(v.ID, err) {
					return
				}
			}
		})},
		{"Teams.AllMembers", "/v2/teams/4/members", "users", `{"id":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Teams.AllMembers(ctx, 4) {
				if !add(v.ID, err) {
					return
				}
			}
		})},
		{"Mailboxes.All", "/v2/mailboxes", "mailboxes", `{"id":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Mailboxes.All(ctx) {
				if !add(v.ID, err) {
					return
				}
			}
		})},
		{"Mailboxes.AllFolders", "/v2/mailboxes/7/folders", "folders", `{"id":%d}`, collect(func(c *Client, add func(int64, error) bool) {
			for v, err := range c.Mailboxes.AllFolders(ctx, 7) {
				if !add(v.ID, err) {
					return
				}
			}
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t)
			p := newPager(t, tt.key, 3, idItems(7, tt.item))
			mux.Handle(tt.path, p)
			ids, err := tt.walk(c)
			if err != nil {
				t.Fatalf("walk: %v", err)
			}
			if diff := cmp.Diff([]int64{1, 2, 3, 4, 5, 6, 7}, ids); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"", "2", "3"}, p.pagesAsked()); diff != "" {
				t.Errorf("pages asked mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUserHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		u        User
		wantName string
		wantTeam bool
	}{
		{User{FirstName: "Ann", LastName: "Lee", Type: "user"}, "Ann Lee", false},
		{User{FirstName: "Tier 2", Type: "team"}, "Tier 2", true},
		{User{LastName: "Solo"}, "Solo", false},
	}
	for _, tt := range tests {
		if got := tt.u.Name(); got != tt.wantName {
			t.Errorf("%+v.Name() = %q, want %q", tt.u, got, tt.wantName)
		}
		if got := tt.u.IsTeam(); got != tt.wantTeam {
			t.Errorf("%+v.IsTeam() = %v, want %v", tt.u, got, tt.wantTeam)
		}
	}
	if !wantStatus(t).Away() || (UserStatus{Email: EmailUserStatus{Status: "active"}}).Away() {
		t.Error("Away() wrong")
	}
}
