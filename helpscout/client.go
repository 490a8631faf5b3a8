package helpscout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultBaseURL is the production API root.
	DefaultBaseURL = "https://api.helpscout.net/"

	// DefaultMaxResponseBytes bounds a successful response body. A page of 25
	// conversations with up to 100 threads of HTML each stays far below it.
	DefaultMaxResponseBytes = 32 << 20

	defaultUserAgent = "queuewrangler-helpscout"
	mediaTypeJSON    = "application/json"
	acceptHeader     = "application/hal+json, application/json"

	headerResourceID    = "Resource-Id"
	headerCorrelationID = "Correlation-Id"
	headerRateLimit     = "X-RateLimit-Limit-Minute"
	headerRateRemaining = "X-RateLimit-Remaining-Minute"
	headerRateRetry     = "X-RateLimit-Retry-After"
)

// ErrResponseTooLarge is returned when a response body exceeds the client's
// MaxResponseBytes; the body is not decoded.
var ErrResponseTooLarge = errors.New("helpscout: response body too large")

// Client talks to one Help Scout account. It is safe for concurrent use as
// long as its exported fields are not changed while requests run.
type Client struct {
	client *http.Client

	// BaseURL is the API root and must end in a slash. Use WithBaseURL to
	// point a client at another root (the fake, a proxy).
	BaseURL *url.URL

	// UserAgent is sent with every request.
	UserAgent string

	// MaxResponseBytes bounds successful response bodies; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64

	common service

	Conversations *ConversationsService
	Threads       *ThreadsService
	Users         *UsersService
	Teams         *TeamsService
	Mailboxes     *MailboxesService
}

type service struct{ client *Client }

// NewClient returns a client for DefaultBaseURL that sends requests through
// httpClient, which carries authentication and retries; nil means a plain
// &http.Client{} (useful only against an unauthenticated fake).
//
// The client keeps a shallow copy of httpClient whose CheckRedirect stops at
// the first response, so that a merged conversation's 301 reaches
// ConversationsService.Get instead of being followed (with the token) to
// wherever Location points. The caller's *http.Client is not modified.
func NewClient(httpClient *http.Client) *Client {
	var hc http.Client
	if httpClient != nil {
		hc = *httpClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	base, _ := url.Parse(DefaultBaseURL)
	c := &Client{client: &hc, BaseURL: base, UserAgent: defaultUserAgent}
	c.initialize()
	return c
}

func (c *Client) initialize() {
	c.common.client = c
	c.Conversations = (*ConversationsService)(&c.common)
	c.Threads = (*ThreadsService)(&c.common)
	c.Users = (*UsersService)(&c.common)
	c.Teams = (*TeamsService)(&c.common)
	c.Mailboxes = (*MailboxesService)(&c.common)
}

// WithBaseURL returns a copy of c that sends requests to base, an absolute
// http or https URL such as "https://api.helpscout.net" or
// "http://127.0.0.1:9090/". A missing trailing slash is added; a path is
// kept, so a base of "http://host/hs" serves "http://host/hs/v2/...".
func (c *Client) WithBaseURL(base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("parse base url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("base url %q: scheme must be http or https", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("base url %q: no host", u.Redacted())
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("base url %q: must not carry credentials, a query or a fragment", u.Redacted())
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	c2 := &Client{client: c.client, BaseURL: u, UserAgent: c.UserAgent, MaxResponseBytes: c.MaxResponseBytes}
	c2.initialize()
	return c2, nil
}

// NewRequest builds a request for relPath (such as "v2/conversations"),
// resolved against BaseURL; a leading slash is ignored so that a base path
// is kept. A non-nil body is sent as JSON.
func (c *Client) NewRequest(ctx context.Context, method, relPath string, body any) (*http.Request, error) {
	if !strings.HasSuffix(c.BaseURL.Path, "/") {
		return nil, fmt.Errorf("base url %q must end in a slash", c.BaseURL.Redacted())
	}
	ref, err := url.Parse(strings.TrimPrefix(relPath, "/"))
	if err != nil {
		return nil, fmt.Errorf("parse path: %w", err)
	}
	u := c.BaseURL.ResolveReference(ref)

	var r io.Reader
	if body != nil {
		buf, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", method, u.Path, err)
		}
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", mediaTypeJSON)
	}
	req.Header.Set("Accept", acceptHeader)
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	return req, nil
}

// Response is an API response with the facts Help Scout puts beside the body.
type Response struct {
	*http.Response

	// Page is the HAL page block of a list response (zero otherwise).
	Page PageInfo

	// Rate is the account's per-minute budget as the server reported it.
	Rate Rate

	// ResourceID is the Resource-ID header of a 201 Created: the id of the
	// thread, conversation or webhook just made (0 when absent).
	ResourceID int64

	// CorrelationID identifies the request to Help Scout support.
	CorrelationID string

	// MergedFrom is set by ConversationsService.Get when the conversation
	// asked for was merged into the one returned: it is the id asked for.
	MergedFrom int64
}

// PageInfo is the "page" block of a HAL list. Number is 1-based.
type PageInfo struct {
	Size          int `json:"size"`
	TotalElements int `json:"totalElements"`
	TotalPages    int `json:"totalPages"`
	Number        int `json:"number"`
}

// Rate is the rate-limit state from the X-RateLimit-* headers. Help Scout
// shares one per-minute budget across every integration on the account and
// counts writes twice.
type Rate struct {
	Limit      int           // X-RateLimit-Limit-Minute
	Remaining  int           // X-RateLimit-Remaining-Minute
	RetryAfter time.Duration // X-RateLimit-Retry-After, sent only when limited
}

func newResponse(r *http.Response) *Response {
	return &Response{
		Response:      r,
		Rate:          parseRate(r.Header),
		ResourceID:    headerInt64(r.Header, headerResourceID),
		CorrelationID: r.Header.Get(headerCorrelationID),
	}
}

func parseRate(h http.Header) Rate {
	return Rate{
		Limit:      int(headerInt64(h, headerRateLimit)),
		Remaining:  int(headerInt64(h, headerRateRemaining)),
		RetryAfter: retryAfter(h),
	}
}

// retryAfter reads X-RateLimit-Retry-After, falling back to the standard
// Retry-After (seconds) that proxies and the fake may send.
func retryAfter(h http.Header) time.Duration {
	for _, name := range []string{headerRateRetry, "Retry-After"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 && s < 1e6 {
			return time.Duration(s * float64(time.Second))
		}
	}
	return 0
}

func headerInt64(h http.Header, name string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get(name)), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// bodyDecoder lets a destination decode the raw body itself (HAL pages pick
// their collection out of _embedded without a second pass).
type bodyDecoder interface {
	decodeBody(data []byte) error
}

// Do sends req and, for a 2xx answer, decodes the JSON body into v (unless v
// is nil). Any other status becomes the error from CheckResponse; the
// Response is returned with it so callers can read headers. The body is
// always read to its limit and closed.
func (c *Client) Do(req *http.Request, v any) (*Response, error) {
	resp, err := c.client.Do(req)
	if err != nil {
		// A *url.Error: it names the method and URL and unwraps to context
		// errors. The token travels in a header; the query (which may hold
		// a customer's email) is dropped from the text.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = pathOnly(req.URL)
		}
		return nil, err
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()

	response := newResponse(resp)
	if err := CheckResponse(resp); err != nil {
		return response, err
	}
	if v == nil {
		return response, nil
	}
	limit := c.MaxResponseBytes
	if limit <= 0 {
		limit = DefaultMaxResponseBytes
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return response, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL.Path, err)
	}
	if int64(len(data)) > limit {
		return response, fmt.Errorf("%s %s: %w (limit %d bytes)", req.Method, req.URL.Path, ErrResponseTooLarge, limit)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return response, fmt.Errorf("%s %s: decode body: %w", req.Method, req.URL.Path, io.ErrUnexpectedEOF)
	}
	if d, ok := v.(bodyDecoder); ok {
		err = d.decodeBody(data)
	} else {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		return response, fmt.Errorf("%s %s: decode body: %w", req.Method, req.URL.Path, err)
	}
	return response, nil
}

func pathOnly(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

// get is the common GET-and-decode path of the services.
func (c *Client) get(ctx context.Context, relPath string, q url.Values, v any) (*Response, error) {
	if len(q) > 0 {
		relPath += "?" + q.Encode()
	}
	req, err := c.NewRequest(ctx, http.MethodGet, relPath, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req, v)
}

// send is the common write path: a JSON body, no response body expected.
func (c *Client) send(ctx context.Context, method, relPath string, body any) (*Response, error) {
	req, err := c.NewRequest(ctx, method, relPath, body)
	if err != nil {
		return nil, err
	}
	return c.Do(req, nil)
}

func pageQuery(page int) url.Values {
	if page <= 1 {
		return nil
	}
	return url.Values{"page": {strconv.Itoa(page)}}
}
