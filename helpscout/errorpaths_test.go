package helpscout

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// apiCall is one exported service method reduced to "call it, return the
// error". Iterators return the first error they yield.
type apiCall struct {
	name string
	call func(ctx context.Context, c *Client) error
}

func firstErr[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return errors.New("iterator ended without yielding an error")
}

func allAPICalls() []apiCall {
	return []apiCall{
		{"Conversations.List", func(ctx context.Context, c *Client) error { _, _, err := c.Conversations.List(ctx, nil); return err }},
		{"Conversations.All", func(ctx context.Context, c *Client) error { return firstErr(c.Conversations.All(ctx, nil)) }},
		{"Conversations.Get", func(ctx context.Context, c *Client) error { _, _, err := c.Conversations.Get(ctx, 7, true); return err }},
		{"Conversations.Assign", func(ctx context.Context, c *Client) error { _, err := c.Conversations.Assign(ctx, 7, 3); return err }},
		{"Conversations.Unassign", func(ctx context.Context, c *Client) error { _, err := c.Conversations.Unassign(ctx, 7); return err }},
		{"Conversations.UpdateStatus", func(ctx context.Context, c *Client) error {
			_, err := c.Conversations.UpdateStatus(ctx, 7, StatusClosed)
			return err
		}},
		{"Conversations.CreateNote", func(ctx context.Context, c *Client) error {
			_, _, err := c.Conversations.CreateNote(ctx, 7, NoteRequest{Text: "x"})
			return err
		}},
		{"Threads.List", func(ctx context.Context, c *Client) error { _, _, err := c.Threads.List(ctx, 7, 1); return err }},
		{"Threads.All", func(ctx context.Context, c *Client) error { return firstErr(c.Threads.All(ctx, 7)) }},
		{"Users.List", func(ctx context.Context, c *Client) error { _, _, err := c.Users.List(ctx, nil); return err }},
		{"Users.All", func(ctx context.Context, c *Client) error { return firstErr(c.Users.All(ctx, nil)) }},
		{"Users.Get", func(ctx context.Context, c *Client) error { _, _, err := c.Users.Get(ctx, 7); return err }},
		{"Users.Me", func(ctx context.Context, c *Client) error { _, _, err := c.Users.Me(ctx); return err }},
		{"Users.Statuses", func(ctx context.Context, c *Client) error { _, _, err := c.Users.Statuses(ctx, 1); return err }},
		{"Users.AllStatuses", func(ctx context.Context, c *Client) error { return firstErr(c.Users.AllStatuses(ctx)) }},
		{"Users.Status", func(ctx context.Context, c *Client) error { _, _, err := c.Users.Status(ctx, 7); return err }},
		{"Teams.List", func(ctx context.Context, c *Client) error { _, _, err := c.Teams.List(ctx, 1); return err }},
		{"Teams.All", func(ctx context.Context, c *Client) error { return firstErr(c.Teams.All(ctx)) }},
		{"Teams.Members", func(ctx context.Context, c *Client) error { _, _, err := c.Teams.Members(ctx, 7, 1); return err }},
		{"Teams.AllMembers", func(ctx context.Context, c *Client) error { return firstErr(c.Teams.AllMembers(ctx, 7)) }},
		{"Mailboxes.List", func(ctx context.Context, c *Client) error { _, _, err := c.Mailboxes.List(ctx, 1); return err }},
		{"Mailboxes.All", func(ctx context.Context, c *Client) error { return firstErr(c.Mailboxes.All(ctx)) }},
		{"Mailboxes.Get", func(ctx context.Context, c *Client) error { _, _, err := c.Mailboxes.Get(ctx, 7); return err }},
		{"Mailboxes.Folders", func(ctx context.Context, c *Client) error { _, _, err := c.Mailboxes.Folders(ctx, 7, 1); return err }},
		{"Mailboxes.AllFolders", func(ctx context.Context, c *Client) error { return firstErr(c.Mailboxes.AllFolders(ctx, 7)) }},
		{"Mailboxes.GetRouting", func(ctx context.Context, c *Client) error { _, _, err := c.Mailboxes.GetRouting(ctx, 7); return err }},
		{"Mailboxes.UpdateRouting", func(ctx context.Context, c *Client) error {
			_, err := c.Mailboxes.UpdateRouting(ctx, 7, RoutingConfig{State: RoutingEnabled, AssignmentLimit: 10, AssignmentMethod: RoutingBalanced, UserIDs: []int64{3}})
			return err
		}},
	}
}

// TestAPICallsCoverEveryMethod keeps the error-path table complete: a new
// exported service method without an entry fails here.
func TestAPICallsCoverEveryMethod(t *testing.T) {
	t.Parallel()
	c := NewClient(nil)
	listed := map[string]bool{}
	for _, ac := range allAPICalls() {
		listed[ac.name] = true
	}
	services := map[string]any{
		"Conversations": c.Conversations, "Threads": c.Threads, "Users": c.Users, "Teams": c.Teams, "Mailboxes": c.Mailboxes,
	}
	for svcName, svc := range services {
		typ := reflect.TypeOf(svc)
		for i := range typ.NumMethod() {
			name := svcName + "." + typ.Method(i).Name
			if !listed[name] {
				t.Errorf("%s has no entry in allAPICalls", name)
			}
			delete(listed, name)
		}
	}
	for name := range listed {
		t.Errorf("allAPICalls lists %s, which is not a method", name)
	}
}

// TestAPIErrorPaths sends every method into the same failing server and
// checks each surfaces the typed error, with the operation in the text.
func TestAPIErrorPaths(t *testing.T) {
	t.Parallel()
	answers := []struct {
		name   string
		status int
		header map[string]string
		body   string
		check  func(t *testing.T, err error)
	}{
		{
			name: "500", status: 500, body: `{"logRef":"cb73#12","message":"Internal error"}`,
			check: func(t *testing.T, err error) {
				var er *ErrorResponse
				if !errors.As(err, &er) || er.StatusCode != 500 || er.LogRef != "cb73#12" {
					t.Errorf("err = %v, want *ErrorResponse 500 with logRef", err)
				}
				if errors.Is(err, ErrNotFound) {
					t.Error("a 500 matches ErrNotFound")
				}
			},
		},
		{
			name: "404", status: 404, body: ``,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("err = %v, want ErrNotFound", err)
				}
			},
		},
		{
			name: "403", status: 403, body: `{"logRef":"a1#2","message":"Access denied"}`,
			check: func(t *testing.T, err error) {
				var er *ErrorResponse
				if !errors.Is(err, ErrForbidden) || !errors.As(err, &er) || er.LogRef != "a1#2" {
					t.Errorf("err = %v, want ErrForbidden as *ErrorResponse with logRef", err)
				}
				if errors.Is(err, ErrNotFound) {
					t.Error("a 403 matches ErrNotFound")
				}
			},
		},
		{
			name: "400", status: 400,
			body: `{"logRef":"L-1","message":"Bad request","_embedded":{"errors":[{"path":"status","message":"Expected one of these: 'active'","rejectedValue":"Wrong","source":"JSON"}]}}`,
			check: func(t *testing.T, err error) {
				var er *ErrorResponse
				if !errors.As(err, &er) || er.StatusCode != 400 || len(er.Errors) != 1 || er.Errors[0].Path != "status" {
					t.Errorf("err = %v, want *ErrorResponse 400 with the field error", err)
				}
				if errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound) {
					t.Error("a 400 matches a sentinel")
				}
			},
		},
		{
			name: "429", status: 429, header: map[string]string{"X-RateLimit-Retry-After": "9"}, body: `{"message":"API rate limit exceeded"}`,
			check: func(t *testing.T, err error) {
				var rl *RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != 9*time.Second {
					t.Errorf("err = %v, want *RateLimitError with RetryAfter 9s", err)
				}
			},
		},
		{
			name: "401", status: 401, body: `{"error_description":"The access token is invalid or has expired","error":"invalid_token"}`,
			check: func(t *testing.T, err error) {
				var ae *AuthError
				if !errors.As(err, &ae) || ae.Code != "invalid_token" {
					t.Errorf("err = %v, want *AuthError invalid_token", err)
				}
			},
		},
		{
			name: "truncated 200", status: 200, body: `{"_embedded":{"conversations":[{"id":1`,
			check: func(t *testing.T, err error) {
				var er *ErrorResponse
				if err == nil || errors.As(err, &er) || !strings.Contains(err.Error(), "decode") {
					t.Errorf("err = %v, want a decode error", err)
				}
			},
		},
	}
	writes := map[string]bool{
		"Conversations.Assign": true, "Conversations.Unassign": true,
		"Conversations.UpdateStatus": true, "Conversations.CreateNote": true,
		"Mailboxes.UpdateRouting": true,
	}
	for _, ac := range allAPICalls() {
		for _, a := range answers {
			if a.status == 200 && writes[ac.name] {
				continue // writes read no body
			}
			t.Run(ac.name+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				c, mux := setup(t)
				mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
					for k, v := range a.header {
						w.Header().Set(k, v)
					}
					writeJSON(t, w, a.status, a.body)
				})
				err := ac.call(context.Background(), c)
				if err == nil {
					t.Fatal("call succeeded against a failing server")
				}
				a.check(t, err)
				if s := err.Error(); !strings.Contains(s, "/v2/") && a.status != 200 {
					t.Errorf("error %q does not name the request path", s)
				}
			})
		}
	}
}
