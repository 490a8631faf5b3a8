package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/queuewrangler/queuewrangler/internal/budget"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// Options is what the chain needs: plain values, so that main passes its
// configuration in and tests build the chain against the fake Help Scout.
type Options struct {
	BaseURL      string
	ClientID     string
	ClientSecret string // raw; it goes only into the token request body
	// Redact are the other secrets that must never appear in an error or a
	// log line of the chain, should a server echo them: the webhook secret
	// and the admin token. The client secret and every issued access token
	// are redacted without being listed.
	Redact    []string
	PerMinute int
	Metrics   *metrics.Instruments
	Logger    *slog.Logger
	RetryMax  int           // attempts after the first; 0 means the default
	MaxWait   time.Duration // cap on one backoff; 0 means the default
	// Base replaces the default transport at the bottom of the chain;
	// tests use it to inject failures Help Scout would produce.
	Base http.RoundTripper
	// Failures, when set, hears of every failed attempt (failures.go).
	Failures *Failures
}

// NewClient builds the chain, from outside in:
// retryablehttp (backoff honouring X-RateLimit-Retry-After, errors passed
// through so helpscout builds its typed errors) -> client-credentials token
// (a 401 fetches a new token once and repeats the request) -> rate budget
// -> instrumented -> attempt timeout -> the default transport. The budget
// sits below retries and authentication so that every attempt, retries and
// re-authentications included, is paced.
func NewClient(o Options) *http.Client {
	var base http.RoundTripper = newBaseTransport()
	if o.Base != nil {
		base = o.Base
	}
	// The attempt timeout sits below the budget: waiting for the budget is
	// pacing, up to a minute after a burst, not a slow server.
	var wire http.RoundTripper = attemptTimeout{next: base, d: attemptLimit}
	red := newRedactor(append([]string{o.ClientSecret}, o.Redact...)...)
	if o.Failures != nil {
		wire = watchFailures{next: wire, f: o.Failures, red: red}
	}
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
			tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, tokenHTTP))
			if err != nil {
				return nil, refusedCredentials(red.error(err))
			}
			red.issuedToken(tok)
			return tok, nil
		},
	}

	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{
		Transport: wholeBody{next: auth, red: red},
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
	if o.Failures != nil {
		rc.RequestLogHook = func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			if c := callFrom(req.Context()); c != nil {
				c.attempt = attempt
			}
		}
		rc.CheckRetry = tellingRetryPolicy(o.Failures, rc.RetryMax)
		rc.Backoff = tellingBackoff(o.Failures)
	}
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.Logger = nil
	if o.Logger != nil {
		rc.Logger = retryLogger{l: o.Logger, red: red}
	}
	return &http.Client{Transport: redactErrors{next: methodTagger{next: &retryablehttp.RoundTripper{Client: rc}}, red: red}}
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

// tellingBackoff is rateLimitBackoff that tells f how long a 429 holds
// requests back, so that a long wait is said (failures.go).
func tellingBackoff(f *Failures) retryablehttp.Backoff {
	return func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		wait := rateLimitBackoff(min, max, attempt, resp)
		if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
			f.rateLimitWait(wait)
		}
		return wait
	}
}

type methodKey struct{}

// methodTagger records the request method in the context because
// retryablehttp's CheckRetry sees no request when the attempt failed before
// a response arrived; and it starts the call's record (failures.go).
type methodTagger struct{ next http.RoundTripper }

func (m methodTagger) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := context.WithValue(req.Context(), methodKey{}, req.Method)
	ctx = context.WithValue(ctx, callKey{}, &call{})
	return m.next.RoundTrip(req.WithContext(ctx))
}

// retryPolicy retries what is safe. A POST (a note) is retried only on 429,
// which Help Scout answers before doing anything; after a 5xx or a lost
// connection the note may exist, and a second one would confuse the team.
// PATCH /assignTo and GETs are idempotent and retried on 5xx and transport
// errors as well.
func retryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	retry, _, err := retryDecision(ctx, resp, err)
	return retry, err
}

// Why a failed attempt is not retried, for the warning that names its cause.
const (
	notRetriedStopped  = "the caller stopped waiting"
	notRetriedRefused  = "the token endpoint gives the same answer until the configuration changes"
	notRetriedNote     = "the note may have been written; a second try could add it twice"
	notRetriedSame     = "a retry would fail the same way"
	notRetriedNoneLeft = "no attempts left"
)

// retryDecision is retryPolicy with the reason when it does not retry.
func retryDecision(ctx context.Context, resp *http.Response, err error) (retry bool, why string, _ error) {
	if ctx.Err() != nil {
		return false, notRetriedStopped, ctx.Err()
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode/100 == 4 &&
		re.Response.StatusCode != http.StatusTooManyRequests {
		// The token endpoint refused the credentials: no retry will change
		// that, and each would spend budget and delay the error.
		return false, notRetriedRefused, nil
	}
	method, _ := ctx.Value(methodKey{}).(string)
	if method == http.MethodPost {
		return resp != nil && resp.StatusCode == http.StatusTooManyRequests, notRetriedNote, nil
	}
	retry, err = retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	return retry, notRetriedSame, err
}

// tellingRetryPolicy is retryPolicy that also has f log a failure that
// began a run with what follows it. retryablehttp stops after retryMax
// retries whatever the policy says, so the last attempt is not retried.
func tellingRetryPolicy(f *Failures, retryMax int) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		retry, why, err := retryDecision(ctx, resp, err)
		c := callFrom(ctx)
		told := retry
		if retry && c != nil && c.attempt >= retryMax {
			told, why = false, notRetriedNoneLeft
		}
		f.decided(c, told, why)
		return retry, err
	}
}

// redactErrors is the top of the chain: no error leaves it with a secret
// in its text.
type redactErrors struct {
	next http.RoundTripper
	red  *redactor
}

func (t redactErrors) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	return resp, t.red.error(err)
}

// retryLogger adapts slog to retryablehttp's leveled logger. Retries are
// routine, so they log at debug; the final error is logged by the caller.
type retryLogger struct {
	l   *slog.Logger
	red *redactor
}

func (r retryLogger) Error(msg string, kv ...any) { r.l.Debug("helpscout http: "+msg, r.scrub(kv)...) }
func (r retryLogger) Info(msg string, kv ...any)  { r.l.Debug("helpscout http: "+msg, r.scrub(kv)...) }
func (r retryLogger) Debug(msg string, kv ...any) { r.l.Debug("helpscout http: "+msg, r.scrub(kv)...) }
func (r retryLogger) Warn(msg string, kv ...any)  { r.l.Debug("helpscout http: "+msg, r.scrub(kv)...) }

// scrub keeps only the keys retryablehttp logs that cannot carry a secret
// by design: the method and URL (Help Scout URLs hold ids only), the
// request line, the error, and timing; and it redacts known secrets from
// the error, whose text may echo what a server answered.
func (r retryLogger) scrub(kv []any) []any {
	var out []any
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		switch k {
		case "error":
			out = append(out, k, r.red.redact(fmt.Sprint(kv[i+1])))
		case "method", "url", "request", "timeout", "remaining", "status":
			out = append(out, k, kv[i+1])
		}
	}
	return out
}
