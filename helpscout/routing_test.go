package helpscout

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// routingJSON is the documented example of GET /v2/mailboxes/{id}/routing
// (developer.helpscout.com, "Get Routing configuration").
const routingJSON = `{
  "state" : "enabled",
  "assignmentLimit" : 10,
  "assignmentMethod" : "round_robin",
  "userIds" : [ 1, 2, 3 ],
  "rotation" : [ {
    "userId" : 1, "conversationsCount" : 10, "eligible" : false, "reason" : "at_capacity"
  }, {
    "userId" : 2, "conversationsCount" : 2, "eligible" : false, "reason" : "away"
  }, {
    "userId" : 3, "conversationsCount" : 0, "eligible" : true
  }, {
    "userId" : 4, "conversationsCount" : 1, "eligible" : false, "reason" : "not_in_rotation"
  } ],
  "_links" : { "self" : { "href" : "https://api.helpscout.net/v2/mailboxes/10/routing" } }
}`

// routingValidationJSON is a 400 in the documented vnd.error shape
// (helpscout-api.md section 11) for a PUT that broke two rules.
const routingValidationJSON = `{
  "logRef": "64bb72b4-0a92-11e8-ba89-0ed5f89f718b",
  "message": "Bad request",
  "_embedded": {"errors": [
    {"path": "assignmentLimit", "message": "must be less than or equal to 100", "rejectedValue": 101, "source": "JSON",
     "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors#Max"}}},
    {"path": "userIds", "message": "may not be empty", "source": "JSON",
     "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors#NotEmpty"}}}
  ]},
  "_links": {"about": {"href": "http://developer.helpscout.net/mailbox-api/overview/errors"}}
}`

func TestMailboxesGetRouting(t *testing.T) {
	t.Parallel()
	const path = "/v2/mailboxes/108538/routing"
	get := func(ctx context.Context, c *Client) (any, *Response, error) {
		return c.Mailboxes.GetRouting(ctx, 108538)
	}
	runServiceCases(t, []serviceCase{
		{
			name: "documented example", path: path, wantQuery: url.Values{}, body: routingJSON, call: get,
			want: &Routing{
				RoutingConfig: RoutingConfig{State: "enabled", AssignmentLimit: 10, AssignmentMethod: "round_robin", UserIDs: []int64{1, 2, 3}},
				Rotation: []RotationEntry{
					{UserID: 1, ConversationsCount: 10, Reason: ReasonAtCapacity},
					{UserID: 2, ConversationsCount: 2, Reason: ReasonAway},
					{UserID: 3, Eligible: true},
					{UserID: 4, ConversationsCount: 1, Reason: ReasonNotInRotation},
				},
			},
		},
		{
			// Disabled routing may leave out the limit, the method and the
			// users: absent keys decode to zero values, never an error.
			name: "disabled, optional keys absent", path: path, wantQuery: url.Values{}, call: get,
			body: `{"state":"disabled","rotation":[{"userId":7,"conversationsCount":3,"eligible":false,"reason":"not_in_rotation"}]}`,
			want: &Routing{
				RoutingConfig: RoutingConfig{State: "disabled"},
				Rotation:      []RotationEntry{{UserID: 7, ConversationsCount: 3, Reason: ReasonNotInRotation}},
			},
		},
		{
			name: "an id above 2^31, a reason and a key added later", path: path, wantQuery: url.Values{}, call: get,
			body: `{"state":"enabled","assignmentLimit":5,"assignmentMethod":"balanced","userIds":[3000000001],
				"rotation":[{"userId":3000000001,"conversationsCount":1,"eligible":false,"reason":"on_vacation","extra":{"x":1}}]}`,
			want: &Routing{
				RoutingConfig: RoutingConfig{State: "enabled", AssignmentLimit: 5, AssignmentMethod: "balanced", UserIDs: []int64{3000000001}},
				Rotation:      []RotationEntry{{UserID: 3000000001, ConversationsCount: 1, Reason: "on_vacation"}},
			},
		},
	})
}

func TestMailboxesUpdateRouting(t *testing.T) {
	t.Parallel()
	const path = "/v2/mailboxes/108538/routing"
	update := func(cfg RoutingConfig) func(ctx context.Context, c *Client) (*Response, error) {
		return func(ctx context.Context, c *Client) (*Response, error) {
			return c.Mailboxes.UpdateRouting(ctx, 108538, cfg)
		}
	}
	runWriteCases(t, []writeCase{
		{
			name: "enabled", method: http.MethodPut, path: path,
			call:     update(RoutingConfig{State: RoutingEnabled, AssignmentLimit: 10, AssignmentMethod: RoutingRoundRobin, UserIDs: []int64{1, 2, 3}}),
			wantBody: `{"state":"enabled","assignmentLimit":10,"assignmentMethod":"round_robin","userIds":[1,2,3]}`,
		},
		{
			// All four keys are required, so a nil rotation goes out as [],
			// never null or absent.
			name: "disabled without users", method: http.MethodPut, path: path,
			call:     update(RoutingConfig{State: RoutingDisabled, AssignmentLimit: 100, AssignmentMethod: RoutingBalanced}),
			wantBody: `{"state":"disabled","assignmentLimit":100,"assignmentMethod":"balanced","userIds":[]}`,
		},
		{
			// Values the client does not know are the server's to judge.
			name: "a method added later is written back unchanged", method: http.MethodPut, path: path,
			call:     update(RoutingConfig{State: RoutingEnabled, AssignmentLimit: 3, AssignmentMethod: "weighted", UserIDs: []int64{3000000001}}),
			wantBody: `{"state":"enabled","assignmentLimit":3,"assignmentMethod":"weighted","userIds":[3000000001]}`,
		},
	})
}

// TestRoutingErrors checks the answers the routing endpoints document:
// 403 without the "Inbox: Manage Routing" permission, 400 with the
// validation body, 404 for a mailbox the account does not have.
func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	cfg := RoutingConfig{State: RoutingEnabled, AssignmentLimit: 100, AssignmentMethod: RoutingBalanced, UserIDs: []int64{1}}
	calls := []struct {
		name string
		call func(ctx context.Context, c *Client) error
	}{
		{"GetRouting", func(ctx context.Context, c *Client) error {
			_, _, err := c.Mailboxes.GetRouting(ctx, 108538)
			return err
		}},
		{"UpdateRouting", func(ctx context.Context, c *Client) error {
			_, err := c.Mailboxes.UpdateRouting(ctx, 108538, cfg)
			return err
		}},
	}
	answers := []struct {
		name   string
		status int
		body   string
		check  func(t *testing.T, err error)
	}{
		{
			name: "403 without Manage Routing", status: http.StatusForbidden,
			body: `{"logRef":"a1#2","message":"Access denied","_links":{"about":{"href":"http://developer.helpscout.net/mailbox-api/overview/errors"}}}`,
			check: func(t *testing.T, err error) {
				var er *ErrorResponse
				if !errors.Is(err, ErrForbidden) || !errors.As(err, &er) || er.Message != "Access denied" || er.LogRef != "a1#2" {
					t.Errorf("err = %v, want ErrForbidden as *ErrorResponse with message and logRef", err)
				}
				if errors.Is(err, ErrNotFound) {
					t.Error("a 403 matches ErrNotFound")
				}
			},
		},
		{
			name: "400 validation", status: http.StatusBadRequest, body: routingValidationJSON,
			check: func(t *testing.T, err error) {
				var er *ErrorResponse
				if !errors.As(err, &er) {
					t.Fatalf("err = %T %v, want *ErrorResponse", err, err)
				}
				want := []FieldError{
					{Path: "assignmentLimit", Message: "must be less than or equal to 100", RejectedValue: "101", Source: "JSON",
						About: "http://developer.helpscout.net/mailbox-api/overview/errors#Max"},
					{Path: "userIds", Message: "may not be empty", Source: "JSON",
						About: "http://developer.helpscout.net/mailbox-api/overview/errors#NotEmpty"},
				}
				if diff := cmp.Diff(want, er.Errors); diff != "" {
					t.Errorf("field errors mismatch (-want +got):\n%s", diff)
				}
				if er.StatusCode != 400 || er.LogRef != "64bb72b4-0a92-11e8-ba89-0ed5f89f718b" || errors.Is(err, ErrForbidden) {
					t.Errorf("error = %+v", er)
				}
			},
		},
		{
			name: "404 mailbox", status: http.StatusNotFound, body: `{"logRef":"b2#3","message":"Resource not found"}`,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
					t.Errorf("err = %v, want ErrNotFound only", err)
				}
			},
		},
	}
	for _, call := range calls {
		for _, a := range answers {
			t.Run(call.name+"/"+a.name, func(t *testing.T) {
				t.Parallel()
				c, mux := setup(t)
				mux.HandleFunc("/v2/mailboxes/108538/routing", func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/vnd.error+json")
					w.WriteHeader(a.status)
					_, _ = w.Write([]byte(a.body))
				})
				err := call.call(context.Background(), c)
				if err == nil {
					t.Fatal("call succeeded against a failing server")
				}
				a.check(t, err)
			})
		}
	}
}

func TestRoutingHelpers(t *testing.T) {
	t.Parallel()
	r := Routing{
		RoutingConfig: RoutingConfig{State: RoutingEnabled, UserIDs: []int64{1, 3}},
		Rotation:      []RotationEntry{{UserID: 1, Eligible: true}, {UserID: 2, Reason: ReasonNotInRotation}},
	}
	if !r.Enabled() || (RoutingConfig{State: RoutingDisabled}).Enabled() || (RoutingConfig{}).Enabled() {
		t.Error("Enabled() wrong")
	}
	if !r.InRotation(3) || r.InRotation(2) {
		t.Error("InRotation wrong")
	}
	if e, ok := r.Entry(2); !ok || e.Reason != ReasonNotInRotation {
		t.Errorf("Entry(2) = %+v, %v", e, ok)
	}
	if _, ok := r.Entry(3); ok {
		t.Error("Entry(3) found a user the rotation does not list")
	}
}
