package outbound

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Failures remembers why Help Scout calls fail. Retries hide a failure for
// up to a minute (eight attempts with backoff) before the caller sees it, so
// a wrong QW_HELPSCOUT_API_URL or refused credentials would otherwise say
// nothing at info level for that long: Failures logs the first failed
// attempt of a spell of failures at WARN, with its cause and whether it is
// retried, and keeps the cause for /readyz until an attempt succeeds.
//
// A spell lasts until a minute passes without a failure. Failures that come
// and go between successes (a flaky proxy, Help Scout shedding load) are
// not one line each: they are counted and said once a minute, by status,
// and the end of the spell is said at INFO with its totals. A solid outage,
// one unbroken run of failures, says only its first failure and its end; a
// lone failure says only itself.
//
// It also says when Help Scout's rate limit has held requests back for
// long: a 429 is pacing, not a failure, and stays out of the counts, but
// half a minute of silence with other integrations spending the same
// account's budget deserves one WARN per run of 429s.
type Failures struct {
	log *slog.Logger
	now func() time.Time // tests set it

	mu    sync.Mutex
	last  string // the cause of the latest failed attempt; "" after a success
	spell *spell // nil when no attempt has failed for a minute

	limitedSince time.Time // the first 429 of the current run; zero when the latest answer was not a 429
	limitSaid    bool      // the current run of 429s has been warned about
}

// summaryEvery is the window over which failures between successes are
// counted and said, and how long without a failure ends a spell.
const summaryEvery = time.Minute

// limitWarnAfter is how long a run of 429s may hold requests back before
// it is worth a warning: a 429 late in Help Scout's minute costs a few
// seconds and is routine, but half a minute without a request means the
// account's budget is spent, most likely by something else.
const limitWarnAfter = 30 * time.Second

// spell is a stretch of time with failures in it, none a minute from the
// next.
type spell struct {
	start, lastFailure time.Time
	total              map[string]int // failures by kind since start
	window             time.Time      // when the current window began
	inWindow           map[string]int // failures by kind in the current window
	intermittent       bool           // a run of failures began after a success in the current window
}

// NewFailures returns a Failures that logs to log (nil: it only remembers).
func NewFailures(log *slog.Logger) *Failures { return &Failures{log: log, now: time.Now} }

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

// record notes the cause of one attempt ("" for a success) and its kind
// (the status code, or "transport"). The first failure of a spell is
// logged once the retry policy has said what follows it (decided), so that
// the line does not promise a retry that will not come; without c, no
// policy will say, and it is logged at once. The spell's other failures are
// said by the window summaries and the line that ends it.
func (f *Failures) record(cause, kind string, c *call) {
	now := f.now()
	f.mu.Lock()
	newRun := f.last == "" && cause != ""
	f.last = cause
	first := false
	var said []func(*slog.Logger)
	if sp := f.spell; sp != nil && now.Sub(sp.window) >= summaryEvery {
		said = append(said, sp.closeWindow(now))
	}
	switch {
	case cause != "" && f.spell == nil:
		f.spell = &spell{start: now, window: now, total: map[string]int{}, inWindow: map[string]int{}}
		first = true
	case cause != "" && newRun:
		f.spell.intermittent = true
	case cause == "" && f.spell != nil && now.Sub(f.spell.lastFailure) >= summaryEvery:
		said = append(said, f.spell.end())
		f.spell = nil
	}
	if cause != "" {
		f.spell.lastFailure = now
		f.spell.total[kind]++
		f.spell.inWindow[kind]++
	}
	f.mu.Unlock()
	if f.log == nil {
		return
	}
	for _, say := range said {
		if say != nil {
			say(f.log)
		}
	}
	if !first {
		return
	}
	if c != nil {
		c.unsaid = cause
		return
	}
	f.log.Warn("help scout call failed", "cause", cause)
}

// closeWindow starts a new window at now and returns the line that says
// the old one, if it needs saying: a window inside one unbroken run of
// failures (a solid outage) says nothing until the spell ends.
func (sp *spell) closeWindow(now time.Time) func(*slog.Logger) {
	counts, intermittent := sp.inWindow, sp.intermittent
	sp.window, sp.inWindow, sp.intermittent = now, map[string]int{}, false
	if !intermittent {
		return nil
	}
	n, kinds := tally(counts)
	return func(l *slog.Logger) {
		l.Warn("Help Scout failures in the last minute", "failures", n, "kinds", kinds)
	}
}

// end returns the line that says the spell is over, unless its only
// failure is the one already said: a lone blip needs no second line.
func (sp *spell) end() func(*slog.Logger) {
	n, kinds := tally(sp.total)
	if n == 1 {
		return nil
	}
	lasted := sp.lastFailure.Sub(sp.start).Round(time.Second)
	return func(l *slog.Logger) {
		l.Info("Help Scout calls succeed again: no failure for a minute",
			"failures", n, "kinds", kinds, "failing_for", lasted.String())
	}
}

// tally sums counts and spells them out by kind, status codes first:
// "500×3, 502×1, transport×2".
func tally(counts map[string]int) (int, string) {
	kinds := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(kinds))
	n := 0
	for i, k := range kinds {
		n += counts[k]
		parts[i] = fmt.Sprintf("%s×%d", k, counts[k])
	}
	return n, strings.Join(parts, ", ")
}

// answered notes whether Help Scout answered an attempt with a 429; any
// other answer ends a run of them. A transport error says nothing either
// way.
func (f *Failures) answered(limited bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case !limited:
		f.limitedSince, f.limitSaid = time.Time{}, false
	case f.limitedSince.IsZero():
		f.limitedSince = f.now()
	}
}

// rateLimitWait is told of each wait after a 429. Once the current run of
// 429s, this wait included, holds requests back longer than limitWarnAfter,
// it warns, once per run.
func (f *Failures) rateLimitWait(wait time.Duration) {
	now := f.now()
	f.mu.Lock()
	since := f.limitedSince
	warn := !f.limitSaid && !since.IsZero() && now.Add(wait).Sub(since) > limitWarnAfter
	if warn {
		f.limitSaid = true
	}
	f.mu.Unlock()
	if !warn || f.log == nil {
		return
	}
	f.log.Warn("Help Scout's rate limit is reached; waiting before the next request "+
		"(other integrations on the account share the limit: check what else calls Help Scout)",
		"wait", wait.Round(time.Second).String(), "limited_for", now.Sub(since).Round(time.Second).String())
}

// decided logs the failure that began a spell during c's latest attempt, if
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
	if resp != nil {
		w.f.answered(resp.StatusCode == http.StatusTooManyRequests)
	}
	w.f.record(w.red.redact(failureCause(req, resp, err)), failureKind(resp, err), callFrom(req.Context()))
	return resp, err
}

// failureKind is how the window summaries count a failed attempt: its
// status code, or "transport" when no answer came.
func failureKind(resp *http.Response, err error) string {
	if err != nil || resp == nil {
		return "transport"
	}
	return strconv.Itoa(resp.StatusCode)
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
	// The path asked, not tokenPath: a base URL with a path of its own
	// (.../v2/) asked /v2/v2/oauth2/token, which only the path shows.
	switch {
	case isToken && (code == http.StatusUnauthorized || code == http.StatusBadRequest || code == http.StatusForbidden):
		return fmt.Sprintf("Help Scout refused the app's credentials (HTTP %d from %s): check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET", code, req.URL.Path)
	case isToken && code/100 == 4 && code != http.StatusTooManyRequests:
		return fmt.Sprintf("%s answered HTTP %d for %s: is QW_HELPSCOUT_API_URL Help Scout's API?", host, code, req.URL.Path)
	case code/100 == 5:
		return fmt.Sprintf("Help Scout answered HTTP %d to %s %s", code, req.Method, req.URL.Path)
	}
	return ""
}
