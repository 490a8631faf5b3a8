package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
)

// Failures remembers why Help Scout calls fail. Retries hide a failure for
// up to a minute (eight attempts with backoff) before the caller sees it, so
// a wrong QW_HELPSCOUT_API_URL or refused credentials would otherwise say
// nothing at info level for that long: Failures logs the first failed
// attempt of each run of failures at WARN, with its cause and whether it
// is retried, and keeps the cause for /readyz until an attempt succeeds.
type Failures struct {
	log  *slog.Logger
	mu   sync.Mutex
	last string // the cause of the latest failed attempt; "" after a success
}

// NewFailures returns a Failures that logs to log (nil: it only remembers).
func NewFailures(log *slog.Logger) *Failures { return &Failures{log: log} }

// Last is the cause of the latest failed attempt, "" when the latest attempt
// succeeded or none was made. It names hosts, paths and status codes, never
// a credential.
func (f *Failures) Last() string {
	if f == nil {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// record notes the cause of one attempt ("" for a success). The first
// failure of a run is logged once the retry policy has said what follows
// it (decided), so that the line does not promise a retry that will not
// come; without c, no policy will say, and it is logged at once.
func (f *Failures) record(cause string, c *call) {
	f.mu.Lock()
	first := f.last == "" && cause != ""
	f.last = cause
	f.mu.Unlock()
	if !first || f.log == nil {
		return
	}
	if c != nil {
		c.unsaid = cause
		return
	}
	f.log.Warn("help scout call failed", "cause", cause)
}

// decided logs the failure that began a run during c's latest attempt, if
// there was one, with what happens next: a retry, or none and why not.
func (f *Failures) decided(c *call, retry bool, why string) {
	if c == nil || c.unsaid == "" {
		return
	}
	cause := c.unsaid
	c.unsaid = ""
	if retry {
		f.log.Warn("help scout call failed; retrying", "cause", cause)
		return
	}
	f.log.Warn("help scout call failed; not retrying", "cause", cause, "why", why)
}

// call follows one call through its attempts. Only the retry policy knows
// whether a failed attempt is retried, and it runs above the token
// transport, which hides the token endpoint's answers from it; so the wire
// notes the cause here and the policy says what follows. A call's attempts
// run one after another, never at once.
type call struct {
	attempt int    // the current attempt, from 0
	unsaid  string // the cause of a failure not yet logged
}

type callKey struct{}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	return c
}

// watchFailures sits on the wire, below retries and the token transport, so
// it sees every attempt, token requests included.
type watchFailures struct {
	next http.RoundTripper
	f    *Failures
	red  *redactor // a transport error may quote what a proxy echoed
}

func (w watchFailures) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if req.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return resp, err // the caller stopped: not Help Scout's failure
	}
	w.f.record(w.red.redact(failureCause(req, resp, err)), callFrom(req.Context()))
	return resp, err
}

// tokenPath is where the client-credentials token is fetched.
const tokenPath = "/v2/oauth2/token"

// failureCause says why one attempt failed, or "" when it did not: a
// transport error, a 5xx, or a refusal at the token endpoint (a 404 there
// is a wrong base URL, a 401 wrong credentials). A 401 elsewhere is an
// expired token the token transport renews, and a 404 elsewhere a deleted
// conversation: routine, not failures.
func failureCause(req *http.Request, resp *http.Response, err error) string {
	host := req.URL.Scheme + "://" + req.URL.Host
	if err != nil {
		var dns *net.DNSError
		switch {
		case errors.As(err, &dns):
			return fmt.Sprintf("Help Scout cannot be reached: the host %q is not known (check QW_HELPSCOUT_API_URL)", dns.Name)
		case errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Sprintf("Help Scout cannot be reached: %s refused the connection (check QW_HELPSCOUT_API_URL)", host)
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Sprintf("Help Scout did not answer %s %s within %s", req.Method, host+req.URL.Path, attemptLimit)
		}
		return fmt.Sprintf("Help Scout cannot be reached at %s: %v", host, err)
	}
	code := resp.StatusCode
	isToken := strings.HasSuffix(req.URL.Path, tokenPath)
	switch {
	case isToken && (code == http.StatusUnauthorized || code == http.StatusBadRequest || code == http.StatusForbidden):
		return fmt.Sprintf("Help Scout refused the app's credentials (HTTP %d from %s): check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET", code, tokenPath)
	case isToken && code/100 == 4 && code != http.StatusTooManyRequests:
		return fmt.Sprintf("%s answered HTTP %d for %s: is QW_HELPSCOUT_API_URL Help Scout's API?", host, code, tokenPath)
	case code/100 == 5:
		return fmt.Sprintf("Help Scout answered HTTP %d to %s %s", code, req.Method, req.URL.Path)
	}
	return ""
}
