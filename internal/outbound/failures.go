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
// attempt of each run of failures at WARN, with its cause, and keeps the
// cause for /readyz until an attempt succeeds.
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

func (f *Failures) record(cause string) {
	f.mu.Lock()
	first := f.last == "" && cause != ""
	f.last = cause
	f.mu.Unlock()
	if first && f.log != nil {
		f.log.Warn("help scout call failed; retrying", "cause", cause)
	}
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
	w.f.record(w.red.redact(failureCause(req, resp, err)))
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
