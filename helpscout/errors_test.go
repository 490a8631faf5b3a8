package helpscout

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func errorResponseFor(status int, header map[string]string, body string) *http.Response {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return &http.Response{
		StatusCode: status,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request: &http.Request{
			Method: http.MethodPatch,
			URL:    &url.URL{Scheme: "https", Host: "api.helpscout.net", Path: "/v2/conversations/42", RawQuery: "email=a%40b.c"},
			Header: http.Header{"Authorization": {"Bearer sekrit-token"}},
		},
	}
}

func TestCheckResponseSuccess(t *testing.T) {
	t.Parallel()
	for _, status := range []int{200, 201, 204, 299} {
		if err := CheckResponse(errorResponseFor(status, nil, "")); err != nil {
			t.Errorf("CheckResponse(%d) = %v, want nil", status, err)
		}
	}
}

func TestCheckResponseErrorResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   *ErrorResponse
	}{
		{
			name:   "validation, _links shape",
			status: 400,
			header: map[string]string{"Correlation-Id": "abc#1"},
			body: `{"logRef":"64bb72b4","message":"Bad request","_embedded":{"errors":[
				{"path":"subject","message":"may not be empty","source":"JSON","_links":{"about":{"href":"http://d/errors#NotEmpty"}}},
				{"path":"status","message":"Expected one of these: 'active'","rejectedValue":"Wrong","source":"JSON","_links":{"about":{"href":"http://d/errors#EnumValue"}}}]},
				"_links":{"about":{"href":"http://d/errors"}}}`,
			want: &ErrorResponse{
				StatusCode: 400, Method: "PATCH", Path: "/v2/conversations/42", LogRef: "64bb72b4", Message: "Bad request",
				About: "http://d/errors", CorrelationID: "abc#1",
				Errors: []FieldError{
					{Path: "subject", Message: "may not be empty", Source: "JSON", About: "http://d/errors#NotEmpty"},
					{Path: "status", Message: "Expected one of these: 'active'", RejectedValue: "Wrong", Source: "JSON", About: "http://d/errors#EnumValue"},
				},
			},
		},
		{
			name:   "validation, older links shape",
			status: 400,
			body: `{"logRef":"cb73#12","message":"Validation error","_embedded":{"errors":[{"path":"country","message":"may not be empty",
				"links":[{"rel":"about","href":"http://d/errors#1"}]}]},"links":[{"rel":"about","href":"http://d/errors"}]}`,
			want: &ErrorResponse{
				StatusCode: 400, Method: "PATCH", Path: "/v2/conversations/42", LogRef: "cb73#12", Message: "Validation error",
				About:  "http://d/errors",
				Errors: []FieldError{{Path: "country", Message: "may not be empty", About: "http://d/errors#1"}},
			},
		},
		{
			name:   "numeric rejected value",
			status: 400,
			body:   `{"message":"Bad request","_embedded":{"errors":[{"path":"user","message":"invalid identifier","rejectedValue":12}]}}`,
			want: &ErrorResponse{StatusCode: 400, Method: "PATCH", Path: "/v2/conversations/42", Message: "Bad request",
				Errors: []FieldError{{Path: "user", Message: "invalid identifier", RejectedValue: "12"}}},
		},
		{
			name:   "not found",
			status: 404,
			want:   &ErrorResponse{StatusCode: 404, Method: "PATCH", Path: "/v2/conversations/42"},
		},
		{
			name:   "html from a proxy",
			status: 502,
			body:   "<html>\n<body>Bad gateway</body>\n</html>",
			want:   &ErrorResponse{StatusCode: 502, Method: "PATCH", Path: "/v2/conversations/42", Message: "<html> <body>Bad gateway</body> </html>"},
		},
		{
			name:   "precondition failed",
			status: 412,
			body:   `{"logRef":"x","message":"Conversation has too many threads"}`,
			want:   &ErrorResponse{StatusCode: 412, Method: "PATCH", Path: "/v2/conversations/42", LogRef: "x", Message: "Conversation has too many threads"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckResponse(errorResponseFor(tt.status, tt.header, tt.body))
			var got *ErrorResponse
			if !errors.As(err, &got) {
				t.Fatalf("CheckResponse = %T %v, want *ErrorResponse", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ErrorResponse mismatch (-want +got):\n%s", diff)
			}
			if gotNF, wantNF := errors.Is(err, ErrNotFound), tt.status == 404; gotNF != wantNF {
				t.Errorf("errors.Is(err, ErrNotFound) = %v, want %v", gotNF, wantNF)
			}
			checkErrorString(t, err)
		})
	}
}

// checkErrorString asserts what every error string must and must not say.
func checkErrorString(t *testing.T, err error) {
	t.Helper()
	s := err.Error()
	for _, leak := range []string{"sekrit", "Bearer", "Authorization", "email=", "a%40b.c"} {
		if strings.Contains(s, leak) {
			t.Errorf("error %q contains %q", s, leak)
		}
	}
	if !strings.Contains(s, "/v2/conversations/42") {
		t.Errorf("error %q does not name the request path", s)
	}
}

func TestErrorResponseString(t *testing.T) {
	t.Parallel()
	err := CheckResponse(errorResponseFor(400, map[string]string{"Correlation-Id": "c-1"},
		`{"logRef":"L-1","message":"Bad request","_embedded":{"errors":[{"path":"status","message":"bad","rejectedValue":"Wrong"}]}}`))
	want := `PATCH /v2/conversations/42: 400 Bad Request: Bad request (status: bad (got "Wrong")) [logRef L-1, correlation id c-1]`
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestCheckResponseRateLimit(t *testing.T) {
	t.Parallel()
	err := CheckResponse(errorResponseFor(429, map[string]string{
		"X-RateLimit-Limit-Minute":     "400",
		"X-RateLimit-Remaining-Minute": "0",
		"X-RateLimit-Retry-After":      "17",
	}, `{"message":"API rate limit exceeded"}`))
	var got *RateLimitError
	if !errors.As(err, &got) {
		t.Fatalf("CheckResponse = %T %v, want *RateLimitError", err, err)
	}
	want := &RateLimitError{
		Method: "PATCH", Path: "/v2/conversations/42",
		Rate:       Rate{Limit: 400, Remaining: 0, RetryAfter: 17 * time.Second},
		RetryAfter: 17 * time.Second, Message: "API rate limit exceeded",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RateLimitError mismatch (-want +got):\n%s", diff)
	}
	if s := err.Error(); !strings.Contains(s, "retry after 17s") {
		t.Errorf("Error() = %q, want it to say when to retry", s)
	}
	if errors.Is(err, ErrNotFound) {
		t.Error("a 429 matches ErrNotFound")
	}
	checkErrorString(t, err)
}

func TestCheckResponseAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   *AuthError
	}{
		{
			name: "oauth invalid_token", status: 401,
			body: `{"error_description":"The access token is invalid or has expired","error":"invalid_token"}`,
			want: &AuthError{Method: "PATCH", Path: "/v2/conversations/42", StatusCode: 401, Code: "invalid_token",
				Description: "The access token is invalid or has expired"},
		},
		{
			name: "401 in help scout shape", status: 401, body: `{"message":"Invalid Credentials"}`,
			want: &AuthError{Method: "PATCH", Path: "/v2/conversations/42", StatusCode: 401, Message: "Invalid Credentials"},
		},
		{
			name: "oauth error on 400", status: 400, body: `{"error_description":"Invalid refresh_token","error":"invalid_request"}`,
			want: &AuthError{Method: "PATCH", Path: "/v2/conversations/42", StatusCode: 400, Code: "invalid_request", Description: "Invalid refresh_token"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckResponse(errorResponseFor(tt.status, nil, tt.body))
			var got *AuthError
			if !errors.As(err, &got) {
				t.Fatalf("CheckResponse = %T %v, want *AuthError", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AuthError mismatch (-want +got):\n%s", diff)
			}
			checkErrorString(t, err)
		})
	}
}

func TestCheckResponseBoundsBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{name: "huge plain text", body: strings.Repeat("x", 1<<20)},
		{name: "json cut by the read limit", body: `{"logRef":"r","message":"` + strings.Repeat("m", maxErrorBodyBytes) + `"}`},
		{name: "long json message", body: `{"message":"` + strings.Repeat("é", 4000) + `"}`},
		{name: "echoed bearer token", body: "upstream said: Authorization: Bearer sekrit-token\n and bearer\tsekrit-2"},
		{name: "control characters", body: "bad\x00\x1b[31mred\r\nline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := errorResponseFor(500, nil, tt.body)
			err := CheckResponse(r)
			var er *ErrorResponse
			if !errors.As(err, &er) {
				t.Fatalf("CheckResponse = %T, want *ErrorResponse", err)
			}
			if n := len(er.Message); n > maxMessageLen+len("…") {
				t.Errorf("message is %d bytes, want at most %d", n, maxMessageLen+len("…"))
			}
			if !utf8.ValidString(er.Message) {
				t.Errorf("message is not valid UTF-8: %q", er.Message)
			}
			if strings.ContainsAny(er.Message, "\x00\x1b\r\n") {
				t.Errorf("message keeps control characters: %q", er.Message)
			}
			if strings.Contains(err.Error(), "sekrit") {
				t.Errorf("error leaks a token: %q", err)
			}
			rest, _ := io.ReadAll(r.Body)
			if len(tt.body) > maxErrorBodyBytes && len(rest) != len(tt.body)-maxErrorBodyBytes {
				t.Errorf("CheckResponse read %d bytes, want exactly the %d-byte limit", len(tt.body)-len(rest), maxErrorBodyBytes)
			}
		})
	}
}

func TestRedactBearer(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"nothing here", "nothing here"},
		{"Bearer abc.def", "Bearer [redacted]"},
		{`{"h":"bearer abc"}`, `{"h":"bearer [redacted]"}`},
		{"BEARER x, Bearer y", "BEARER [redacted], Bearer [redacted]"},
		{"ends with bearer ", "ends with bearer "},
		{"İİ bearer tok", "İİ bearer [redacted]"},
	}
	for _, tt := range tests {
		if got := redactBearer(tt.in); got != tt.want {
			t.Errorf("redactBearer(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
