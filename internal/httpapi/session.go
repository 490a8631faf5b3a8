package httpapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"
)

// The page's login state. The admin token is checked once, at login, and
// never leaves the server again: the browser holds only a random session
// id, and the server keeps the session (its CSRF token, who logged in, a
// pending flash message) in memory. A restart logs everybody out, which is
// the price of never writing a credential to disk.

const (
	sessionCookie = "qw_session"
	// maxSessions bounds the memory an unauthenticated flood of logins
	// could take: only successful logins create sessions, so in practice
	// this is never reached; when it is, the oldest session goes.
	maxSessions = 1000
	// maxLimitedAddrs bounds the failed-login table the same way.
	maxLimitedAddrs = 10000
)

// flash is a one-shot message shown on the next page view.
type flash struct {
	Text  string
	Error bool
}

// session is one logged-in browser.
type session struct {
	csrf    string
	who     string // the name given at login, for the audit log; may be empty
	created time.Time
	expires time.Time
	flash   flash
}

// sessions is the in-memory session store. Keys are SHA-256 hashes of the
// cookie values, so the table itself holds nothing a browser could present.
type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[string]*session
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{ttl: ttl, now: now, m: map[string]*session{}}
}

func sessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// create starts a session and returns its cookie value.
func (s *sessions) create(who string) (id string, sess session) {
	id = rand.Text()
	now := s.now()
	ns := &session{csrf: rand.Text(), who: who, created: now, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if len(s.m) >= maxSessions {
		s.evictOldestLocked()
	}
	s.m[sessionKey(id)] = ns
	return id, *ns
}

// get returns the live session for a cookie value.
func (s *sessions) get(id string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	key := sessionKey(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[key]
	if !ok {
		return session{}, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.m, key)
		return session{}, false
	}
	return *sess, true
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sessionKey(id))
}

// setFlash stores a message for the session's next page view.
func (s *sessions) setFlash(id string, f flash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.m[sessionKey(id)]; ok {
		sess.flash = f
	}
}

// takeFlash returns the pending message and clears it.
func (s *sessions) takeFlash(id string) flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[sessionKey(id)]
	if !ok {
		return flash{}
	}
	f := sess.flash
	sess.flash = flash{}
	return f
}

func (s *sessions) sweepLocked(now time.Time) {
	for k, sess := range s.m {
		if !now.Before(sess.expires) {
			delete(s.m, k)
		}
	}
}

func (s *sessions) evictOldestLocked() {
	var oldestKey string
	var oldest time.Time
	for k, sess := range s.m {
		if oldestKey == "" || sess.created.Before(oldest) {
			oldestKey, oldest = k, sess.created
		}
	}
	delete(s.m, oldestKey)
}

// loginLimiter counts failed logins per remote address in a sliding window
// and slows the failures past its limit. It never refuses a right token:
// callers check the credential first and consult the limiter only when it
// is wrong. Behind a reverse proxy every client shares the proxy's address
// (X-Forwarded-For is not trusted: anyone can forge it), so a lockout by
// address would let anyone who reaches the proxy keep the SSTs out. The
// protection against guessing is the token's length (config requires 16
// characters or more); the limiter only answers a guesser 429, later.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	fails  map[string][]time.Time
	// delay is how long a failure past the limit waits before its answer.
	delay time.Duration
}

// overLimitDelay slows a guesser past the limit to about one try a second
// per connection; a person who mistyped is never past it.
const overLimitDelay = time.Second

func newLoginLimiter(max int, window time.Duration, now func() time.Time) *loginLimiter {
	return &loginLimiter{max: max, window: window, now: now, fails: map[string][]time.Time{}, delay: overLimitDelay}
}

// refuse counts a wrong credential from addr. Within the limit it returns
// false at once; past it, it waits delay (or until ctx ends) and returns
// true with the time until addr's oldest counted failure leaves the window.
func (l *loginLimiter) refuse(ctx context.Context, addr string) (limited bool, retryAfter time.Duration) {
	ok, wait := l.allow(addr)
	l.fail(addr)
	if ok {
		return false, 0
	}
	t := time.NewTimer(l.delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return true, wait
}

// retryAfterSeconds is a Retry-After value: whole seconds, at least 1.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(wait.Round(time.Second)/time.Second))
}

// allow reports whether addr may try to log in now, and if not, how long
// until its oldest counted failure leaves the window.
func (l *loginLimiter) allow(addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	recent := l.recentLocked(addr, now)
	if len(recent) < l.max {
		return true, 0
	}
	return false, recent[0].Add(l.window).Sub(now)
}

// fail counts one failed login from addr.
func (l *loginLimiter) fail(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.fails) >= maxLimitedAddrs {
		for a := range l.fails {
			l.recentLocked(a, now)
		}
	}
	if len(l.fails) >= maxLimitedAddrs {
		// Still full of live entries: forget the addresses whose latest
		// failure is oldest, rather than grow without bound.
		addrs := make([]string, 0, len(l.fails))
		for a := range l.fails {
			addrs = append(addrs, a)
		}
		sort.Slice(addrs, func(i, j int) bool {
			fi, fj := l.fails[addrs[i]], l.fails[addrs[j]]
			return fi[len(fi)-1].Before(fj[len(fj)-1])
		})
		for _, a := range addrs[:len(addrs)/2] {
			delete(l.fails, a)
		}
	}
	l.fails[addr] = append(l.recentLocked(addr, now), now)
}

// recentLocked drops addr's failures older than the window and returns the
// rest, oldest first.
func (l *loginLimiter) recentLocked(addr string, now time.Time) []time.Time {
	ts := l.fails[addr]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.window)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, addr)
		return nil
	}
	l.fails[addr] = ts
	return ts
}

// remoteAddr is the client's IP without the port.
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
