package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/queuewrangler/queuewrangler/internal/budget"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// httpOptions is what the outbound chain needs, kept apart from config so
// tests can build the chain against the fake Help Scout directly.
type httpOptions struct {
	BaseURL      string
	ClientID     string
	ClientSecret string // raw; it goes only into the token request body
	PerMinute    int
	Metrics      *metrics.Instruments
	Logger       *slog.Logger
	RetryMax     int           // attempts after the first; 0 means the default
	MaxWait      time.Duration // cap on one backoff; 0 means the default
	// Base replaces the default transport at the bottom of the chain;
	// tests use it to inject failures Help Scout would produce.
	Base http.RoundTripper
}

// newHelpScoutHTTPClient builds style.md habit 6, from outside in:
// retryablehttp (backoff honouring X-RateLimit-Retry-After, errors passed
// through so helpscout builds its typed errors) -> client-credentials token
// (a 401 fetches a new token once and repeats the request) -> rate budget
// -> instrumented -> attempt timeout -> the default transport. The budget
// sits below retries and authentication so that every attempt, retries and
// re-authentications included, is paced.
func newHelpScoutHTTPClient(o httpOptions) *http.Client {
	var base http.RoundTripper = newBaseTransport()
	if o.Base != nil {
		base = o.Base
	}
	// The attempt timeout sits below the budget: waiting for the budget is
	// pacing, up to a minute after a burst, not a slow server.
	var wire http.RoundTripper = attemptTimeout{next: base, d: attemptLimit}
	if o.Metrics != nil {
		// Below the budget, so request durations are time on the wire, not
		// time spent waiting for budget.
		wire = o.Metrics.InstrumentTransport(wire)
	}
	inner := budget.Transport(wire, budget.New(o.PerMinute))
	cc := &clientcredentials.Config{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		TokenURL:     strings.TrimRight(o.BaseURL, "/") + "/v2/oauth2/token",
		AuthStyle:    oauth2.AuthStyleInParams, // form body: what the live API accepts
	}
	tokenHTTP := &http.Client{
		Transport: inner,
		// A 307 or 308 would make the client send the form again, client
		// secret included, to whatever host Location names.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	auth := &tokenTransport{
		next: inner,
		fetch: func(ctx context.Context) (*oauth2.Token, error) {
			return cc.Token(context.WithValue(ctx, oauth2.HTTPClient, tokenHTTP))
		},
	}

	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Transport: wholeBody{next: auth},
		// Never follow a redirect here: the token transport sits below and
		// would attach the bearer token to whatever host Location names.
		// helpscout follows a merged conversation's 301 itself, by id.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc.RetryMax = 8
	if o.RetryMax > 0 {
		rc.RetryMax = o.RetryMax
	}
	rc.RetryWaitMin = 250 * time.Millisecond
	rc.RetryWaitMax = 65 * time.Second
	if o.MaxWait > 0 {
		rc.RetryWaitMax = o.MaxWait
	}
	rc.Backoff = rateLimitBackoff
	rc.CheckRetry = retryPolicy
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.Logger = nil
	if o.Logger != nil {
		rc.Logger = retryLogger{o.Logger}
	}
	return &http.Client{Transport: methodTagger{next: &retryablehttp.RoundTripper{Client: rc}}}
}

func newBaseTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}

// rateLimitBackoff waits exactly what Help Scout asks after a 429 (plus a
// little, so the retry lands in the new window) and backs off exponentially
// otherwise.
func rateLimitBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Retry-After"))); err == nil && s >= 0 {
			d := time.Duration(s)*time.Second + 250*time.Millisecond
			if d > max {
				return max
			}
			return d
		}
	}
	return retryablehttp.DefaultBackoff(min, max, attempt, resp)
}

type methodKey struct{}

// methodTagger records the request method in the context because
// retryablehttp's CheckRetry sees no request when the attempt failed before
// a response arrived.
type methodTagger struct{ next http.RoundTripper }

func (m methodTagger) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := context.WithValue(req.Context(), methodKey{}, req.Method)
	return m.next.RoundTrip(req.WithContext(ctx))
}

// retryPolicy retries what is safe. A POST (a note) is retried only on 429,
// which Help Scout answers before doing anything; after a 5xx or a lost
// connection the note may exist, and a second one would confuse the team.
// PATCH /assignTo and GETs are idempotent and retried on 5xx and transport
// errors as well.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode/100 == 4 &&
		re.Response.StatusCode != http.StatusTooManyRequests {
		// The token endpoint refused the credentials: no retry will change
		// that, and each would spend budget and delay the error.
		return false, nil
	}
	method, _ := ctx.Value(methodKey{}).(string)
	if method == http.MethodPost {
		return resp != nil && resp.StatusCode == http.StatusTooManyRequests, nil
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// tokenTransport adds the bearer token. Help Scout signals an expired token
// only with a 401 (the lifetime has changed over the years), so a 401 drops
// the cached token, fetches a new one and repeats the request once.
type tokenTransport struct {
	next  http.RoundTripper
	fetch func(context.Context) (*oauth2.Token, error)

	mu    sync.Mutex
	token *oauth2.Token
	// renewAt is when the cached token is replaced before it expires.
	renewAt time.Time
}

// tokenRenewMargin is how long before its expiry a token is replaced, so a
// request does not leave with a token that expires on the way.
const tokenRenewMargin = 10 * time.Second

// renewTime is when to replace a token fetched at fetched. oauth2.Token's
// own Valid keeps a fixed 10 s margin, which makes a token that lives 10 s
// or less look expired at once and costs a token request per API call; a
// short-lived token is used for the first half of its life instead.
func renewTime(tok *oauth2.Token, fetched time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return time.Time{} // never expires by the clock; a 401 replaces it
	}
	margin := min(tokenRenewMargin, tok.Expiry.Sub(fetched)/2)
	return tok.Expiry.Add(-max(margin, 0))
}

func (t *tokenTransport) current(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != nil && t.token.AccessToken != "" && (t.renewAt.IsZero() || time.Now().Before(t.renewAt)) {
		return t.token, nil
	}
	fetched := time.Now()
	tok, err := t.fetch(ctx)
	if err != nil {
		return nil, err
	}
	t.token, t.renewAt = tok, renewTime(tok, fetched)
	return tok, nil
}

// drop forgets tok unless another request has already replaced it.
func (t *tokenTransport) drop(tok *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token = nil
	}
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.current(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.send(req, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // cannot replay the body; let the caller see the 401
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	t.drop(tok)
	if tok, err = t.current(req.Context()); err != nil {
		return nil, err
	}
	return t.send(req, tok)
}

func (t *tokenTransport) send(req *http.Request, tok *oauth2.Token) (*http.Response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.next.RoundTrip(r)
}

// attemptLimit bounds one attempt on the wire: request, headers and body.
const attemptLimit = 60 * time.Second

// attemptTimeout bounds one attempt from sending the request to closing its
// body (wholeBody reads the body within it), so a stalled server fails the
// attempt and retryablehttp tries again. An http.Client Timeout above the
// budget would count the wait for the budget too, and after a burst that
// wait alone is a minute: the attempt would fail without being sent.
type attemptTimeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (a attemptTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), a.d)
	resp, err := a.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// maxResponseBody bounds what one response may hold in memory.
const maxResponseBody = 32 << 20

// wholeBody reads each response body completely before the retry layer sees
// it, so a body cut short in transit becomes a transport error that is
// retried instead of a JSON error surfacing in the caller.
type wholeBody struct{ next http.RoundTripper }

func (w wholeBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()
	if err != nil {
		return nil, &truncatedError{err: err}
	}
	resp.Body = io.NopCloser(strings.NewReader(string(data)))
	resp.ContentLength = int64(len(data))
	return resp, nil
}

type truncatedError struct{ err error }

func (e *truncatedError) Error() string { return "read response body: " + e.err.Error() }
func (e *truncatedError) Unwrap() error { return e.err }

// retryLogger adapts slog to retryablehttp's leveled logger. Retries are
// routine, so they log at debug; the final error is logged by the caller.
type retryLogger struct{ l *slog.Logger }

func (r retryLogger) Error(msg string, kv ...any) { r.l.Debug("helpscout http: "+msg, scrub(kv)...) }
func (r retryLogger) Info(msg string, kv ...any)  { r.l.Debug("helpscout http: "+msg, scrub(kv)...) }
func (r retryLogger) Debug(msg string, kv ...any) { r.l.Debug("helpscout http: "+msg, scrub(kv)...) }
func (r retryLogger) Warn(msg string, kv ...any)  { r.l.Debug("helpscout http: "+msg, scrub(kv)...) }

// scrub keeps only the keys retryablehttp logs that cannot carry a secret:
// the method and URL (Help Scout URLs hold ids only), the request line, the
// error (transport and token errors name no secret), and timing.
func scrub(kv []any) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		switch k {
		case "method", "url", "request", "error", "timeout", "remaining", "status":
			out = append(out, k, kv[i+1])
		}
	}
	return out
}
