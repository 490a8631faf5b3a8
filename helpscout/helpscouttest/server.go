package helpscouttest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTokenTTL is the lifetime Help Scout reports for client-credentials
// tokens (expires_in 172800).
const DefaultTokenTTL = 48 * time.Hour

// DefaultChatEmbedThreadLimit is how many of the newest threads embed=threads
// returns for a chat conversation unless Options says otherwise.
const DefaultChatEmbedThreadLimit = 5

// MaxThreads is the per-conversation thread limit: adding a thread through the
// API to a conversation that already has this many answers 412.
const MaxThreads = 100

// Options configure a Server. The zero value is usable: credentials
// "demo"/"demo-secret", 48 h tokens, no rate limit, wall-clock time.
type Options struct {
	ClientID     string // default "demo"
	ClientSecret string // default "demo-secret"
	TokenTTL     time.Duration

	// RateLimitPerMinute is the account budget per fixed one-minute window of
	// the wall clock; writes cost 2. 0 disables limiting and the
	// X-RateLimit-* headers.
	RateLimitPerMinute int

	// Clock stamps data (createdAt, userUpdatedAt, ...). The simulation runs
	// it faster than real time. Default time.Now.
	Clock func() time.Time
	// WallClock drives token expiry and the rate-limit window, which run on
	// real time even when Clock is accelerated. Default time.Now; tests
	// inject it instead of sleeping.
	WallClock func() time.Time

	// Seed makes fault injection and webhook chaos reproducible.
	Seed int64

	// EmbedThreadLimit > 0 caps embed=threads to that many newest threads
	// for every conversation; clients must compare with the "threads" count
	// and fetch /threads when fewer were embedded.
	EmbedThreadLimit int
	// ChatEmbedThreadLimit caps embed=threads for chat conversations
	// ("chat threads come back truncated when embedded"). 0 means
	// DefaultChatEmbedThreadLimit; negative means no cap.
	ChatEmbedThreadLimit int

	// EmptyEmbedded makes empty pages carry "_embedded":{"<key>":[]} as the
	// 2020 customer-search recording does; by default _embedded is omitted
	// on empty pages as Help Scout's SDK fixtures say.
	EmptyEmbedded bool

	// RoutingDrainsBacklog makes routing assign the Unassigned backlog of an
	// inbox when someone becomes eligible again (Active, below the limit,
	// added to the rotation, or routing switched on), oldest first. Off by
	// default: new conversations are routed, the backlog stays in the
	// folder, the pessimistic reading of Help Scout's help article
	// (helpscout-api.md section 14, question 7; the scenario's
	// routing.drains_backlog, the README's Simulation section).
	RoutingDrainsBacklog bool

	// BaseURL is used for links inside webhook bodies (API responses link to
	// the host the request came to). Default https://api.helpscout.net.
	BaseURL string

	Webhook WebhookOptions
}

// Server is the fake Help Scout. It is an http.Handler; Close stops the
// webhook worker. All methods are safe for concurrent use.
type Server struct {
	opts  Options
	clock func() time.Time
	wall  func() time.Time

	mu        sync.Mutex // guards the account state below
	mailboxes map[int64]*mailboxState
	// revoked are the mailboxes the API user may no longer open
	// (RevokeMailbox): they stay in mailboxes, which the account still has.
	revoked   map[int64]bool
	users     map[int64]*User
	teams     map[int64]*Team
	customers map[int64]*Customer
	convs     map[int64]*Conversation
	tags      map[string]Tag
	ownerID   int64
	ids       idAllocator
	quiet     int // >0: state changes emit no webhooks (seeding)

	// routingPerm is what the app's user may do with routing (under mu);
	// routingPuts records routing PUTs (under ctl).
	routingPerm RoutingPermission
	routingPuts []RoutingPut

	ctl       sync.Mutex // guards tokens, faults, rate window and stats
	tokens    map[string]time.Time
	tokenTTL  time.Duration
	faults    Faults
	storm     time.Time
	failNext  int
	rnd       *mrand.Rand
	window    time.Time
	used      int
	stats     Stats
	patches   []PatchRecord
	notes     []NoteRecord
	corrSeq   uint64
	corrTrunk string

	hooks *webhookQueue
}

type mailboxState struct {
	Mailbox
	folders map[string]int64 // folder type -> id
	routing routingState
}

// New creates a Server and starts its webhook worker.
func New(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "demo"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "demo-secret"
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.ChatEmbedThreadLimit == 0 {
		opts.ChatEmbedThreadLimit = DefaultChatEmbedThreadLimit
	}
	if opts.BaseURL == "" {
		opts.BaseURL = "https://api.helpscout.net"
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	s := &Server{
		opts:      opts,
		clock:     opts.Clock,
		wall:      opts.WallClock,
		mailboxes: map[int64]*mailboxState{},
		revoked:   map[int64]bool{},
		users:     map[int64]*User{},
		teams:     map[int64]*Team{},
		customers: map[int64]*Customer{},
		convs:     map[int64]*Conversation{},
		tags:      map[string]Tag{},
		ids:       newIDAllocator(),
		tokens:    map[string]time.Time{},
		tokenTTL:  opts.TokenTTL,
		rnd:       mrand.New(mrand.NewPCG(uint64(opts.Seed), 0x9e3779b97f4a7c15)),
		stats:     Stats{Requests: map[string]int{}},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.wall == nil {
		s.wall = time.Now
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	s.corrTrunk = hex.EncodeToString(b[:])
	s.hooks = newWebhookQueue(opts.Webhook, opts.Seed)
	return s
}

// NewTestServer starts a Server behind an httptest.Server and closes both
// when the test ends. Webhook bodies link to the test server's URL.
func NewTestServer(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s := New(opts)
	ts := httptest.NewServer(s)
	s.mu.Lock()
	s.opts.BaseURL = ts.URL
	s.mu.Unlock()
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

// Close stops the webhook worker (abandoning undelivered events) and waits
// for it. It does not stop an HTTP server serving s. Close is idempotent.
func (s *Server) Close() error {
	s.hooks.close()
	return nil
}

func (s *Server) now() time.Time { return s.clock().UTC().Truncate(time.Second) }

// Route names used as keys of Stats.Requests.
const (
	RouteToken             = "POST /v2/oauth2/token"
	RouteListConversations = "GET /v2/conversations"
	RouteGetConversation   = "GET /v2/conversations/{id}"
	RoutePatchConversation = "PATCH /v2/conversations/{id}"
	RouteListThreads       = "GET /v2/conversations/{id}/threads"
	RouteCreateNote        = "POST /v2/conversations/{id}/notes"
	RouteListUsers         = "GET /v2/users"
	RouteMe                = "GET /v2/users/me"
	RouteListUserStatuses  = "GET /v2/users/status"
	RouteGetUser           = "GET /v2/users/{id}"
	RouteGetUserStatus     = "GET /v2/users/{id}/status"
	RouteListTeams         = "GET /v2/teams"
	RouteTeamMembers       = "GET /v2/teams/{id}/members"
	RouteListMailboxes     = "GET /v2/mailboxes"
	RouteGetMailbox        = "GET /v2/mailboxes/{id}"
	RouteListFolders       = "GET /v2/mailboxes/{id}/folders"
	RouteGetRouting        = "GET /v2/mailboxes/{id}/routing"
	RoutePutRouting        = "PUT /v2/mailboxes/{id}/routing"
)

type route struct {
	name    string // "" = no route matched
	id      int64
	handler func(*Server, http.ResponseWriter, *http.Request, int64)
	// allowed lists the methods the path supports, for 405 answers.
	allowed []string
}

// match routes a request the way the real API's paths look, accepting the
// trailing slashes that the real _links use (".../threads/").
func match(method, path string) route {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	id := func(s string) (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil && n >= 0
	}
	type cand struct {
		method, name string
		h            func(*Server, http.ResponseWriter, *http.Request, int64)
	}
	var cands []cand
	var rid int64
	if len(segs) < 2 || segs[0] != "v2" {
		return route{}
	}
	switch segs[1] {
	case "oauth2":
		if len(segs) == 3 && segs[2] == "token" {
			cands = []cand{{http.MethodPost, RouteToken, (*Server).handleToken}}
		}
	case "conversations":
		switch len(segs) {
		case 2:
			cands = []cand{{http.MethodGet, RouteListConversations, (*Server).handleListConversations}}
		case 3, 4:
			n, ok := id(segs[2])
			if !ok {
				return route{}
			}
			rid = n
			if len(segs) == 3 {
				cands = []cand{
					{http.MethodGet, RouteGetConversation, (*Server).handleGetConversation},
					{http.MethodPatch, RoutePatchConversation, (*Server).handlePatchConversation},
				}
			} else if segs[3] == "threads" {
				cands = []cand{{http.MethodGet, RouteListThreads, (*Server).handleListThreads}}
			} else if segs[3] == "notes" {
				cands = []cand{{http.MethodPost, RouteCreateNote, (*Server).handleCreateNote}}
			}
		}
	case "users":
		switch {
		case len(segs) == 2:
			cands = []cand{{http.MethodGet, RouteListUsers, (*Server).handleListUsers}}
		case len(segs) == 3 && segs[2] == "me":
			cands = []cand{{http.MethodGet, RouteMe, (*Server).handleMe}}
		case len(segs) == 3 && segs[2] == "status":
			cands = []cand{{http.MethodGet, RouteListUserStatuses, (*Server).handleListUserStatuses}}
		case len(segs) == 3 || (len(segs) == 4 && segs[3] == "status"):
			n, ok := id(segs[2])
			if !ok {
				return route{}
			}
			rid = n
			if len(segs) == 3 {
				cands = []cand{{http.MethodGet, RouteGetUser, (*Server).handleGetUser}}
			} else {
				cands = []cand{{http.MethodGet, RouteGetUserStatus, (*Server).handleGetUserStatus}}
			}
		}
	case "teams":
		switch {
		case len(segs) == 2:
			cands = []cand{{http.MethodGet, RouteListTeams, (*Server).handleListTeams}}
		case len(segs) == 4 && segs[3] == "members":
			n, ok := id(segs[2])
			if !ok {
				return route{}
			}
			rid = n
			cands = []cand{{http.MethodGet, RouteTeamMembers, (*Server).handleTeamMembers}}
		}
	case "mailboxes":
		switch {
		case len(segs) == 2:
			cands = []cand{{http.MethodGet, RouteListMailboxes, (*Server).handleListMailboxes}}
		case len(segs) == 3 || (len(segs) == 4 && (segs[3] == "folders" || segs[3] == "routing")):
			n, ok := id(segs[2])
			if !ok {
				return route{}
			}
			rid = n
			switch {
			case len(segs) == 3:
				cands = []cand{{http.MethodGet, RouteGetMailbox, (*Server).handleGetMailbox}}
			case segs[3] == "folders":
				cands = []cand{{http.MethodGet, RouteListFolders, (*Server).handleListFolders}}
			default:
				cands = []cand{
					{http.MethodGet, RouteGetRouting, (*Server).handleGetRouting},
					{http.MethodPut, RoutePutRouting, (*Server).handlePutRouting},
				}
			}
		}
	}
	r := route{id: rid}
	for _, c := range cands {
		if c.method == method {
			r.name, r.handler = c.name, c.h
			return r
		}
		r.allowed = append(r.allowed, c.method)
	}
	return r
}

// ServeHTTP answers like api.helpscout.net: token endpoint, then the
// gateway's bearer check (401 without Correlation-Id or rate headers, as
// recorded), then the 429 storm and rate limit, then injected faults, then
// the endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt := match(r.Method, r.URL.Path)
	key := rt.name
	if key == "" {
		key = r.Method + " (unmatched)"
	}
	s.ctl.Lock()
	s.stats.Requests[key]++
	s.ctl.Unlock()
	// Date comes from the data clock, as a real server's Date agrees with
	// the modification times it serves; clients may bound their next
	// modifiedSince by it. net/http adds a real-time Date only when unset.
	w.Header().Set("Date", s.clock().UTC().Format(http.TimeFormat))

	if strings.Trim(r.URL.Path, "/") == "v2/oauth2/token" {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", "HTTP method "+r.Method+" is not supported by the token endpoint")
			return
		}
		s.handleToken(w, r, 0)
		return
	}
	if code, desc, ok := s.checkBearer(r); !ok {
		s.ctl.Lock()
		s.stats.Unauthorized++
		s.ctl.Unlock()
		w.Header().Set("Www-Authenticate", fmt.Sprintf(`Bearer realm="service" error=%q error_description=%q`, code, desc))
		writeOAuthError(w, http.StatusUnauthorized, code, desc)
		return
	}

	w.Header().Set("Correlation-Id", s.correlationID())
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	plan, blocked := s.admit(w, write)
	if blocked {
		return
	}
	if plan.delay > 0 {
		t := time.NewTimer(plan.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if plan.failStatus != 0 {
		s.writeError(w, plan.failStatus, http.StatusText(plan.failStatus))
		return
	}
	if rt.handler == nil {
		if rt.allowed != nil {
			w.Header().Set("Allow", strings.Join(rt.allowed, ", "))
			s.writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		s.writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	if plan.truncate {
		tw := &truncatingWriter{ResponseWriter: w}
		rt.handler(s, tw, r, rt.id)
		tw.finish()
		return
	}
	rt.handler(s, w, r, rt.id)
}

// faultPlan is what the fault injector decided for one admitted request.
type faultPlan struct {
	delay      time.Duration
	failStatus int
	truncate   bool
}

// admit applies the 429 storm and the rate limit, sets the X-RateLimit-*
// headers and decides the injected faults for the request. It reports
// blocked when it already answered.
func (s *Server) admit(w http.ResponseWriter, write bool) (faultPlan, bool) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	now := s.wall()
	limit := s.opts.RateLimitPerMinute
	if !s.storm.IsZero() && now.Before(s.storm) {
		s.stats.StormRejections++
		if limit > 0 {
			s.rollWindow(now)
			w.Header().Set("X-RateLimit-Limit-Minute", strconv.Itoa(limit))
			w.Header().Set("X-RateLimit-Remaining-Minute", "0")
		}
		w.Header().Set("X-RateLimit-Retry-After", strconv.Itoa(ceilSeconds(s.storm.Sub(now))))
		writeJSONBytes(w, http.StatusTooManyRequests, "application/json", []byte(`{"message":"API rate limit exceeded"}`))
		return faultPlan{}, true
	}
	if limit > 0 {
		s.rollWindow(now)
		cost := 1
		if write {
			cost = 2
		}
		w.Header().Set("X-RateLimit-Limit-Minute", strconv.Itoa(limit))
		if s.used+cost > limit {
			s.stats.RateLimitViolations++
			w.Header().Set("X-RateLimit-Remaining-Minute", strconv.Itoa(limit-s.used))
			w.Header().Set("X-RateLimit-Retry-After", strconv.Itoa(ceilSeconds(s.window.Add(time.Minute).Sub(now))))
			writeJSONBytes(w, http.StatusTooManyRequests, "application/json", []byte(`{"message":"API rate limit exceeded"}`))
			return faultPlan{}, true
		}
		s.used += cost
		w.Header().Set("X-RateLimit-Remaining-Minute", strconv.Itoa(limit-s.used))
	}
	var p faultPlan
	f := s.faults
	if f.Delay > 0 && (f.DelayProbability <= 0 || s.rnd.Float64() < f.DelayProbability) {
		p.delay = f.Delay
		s.stats.Delayed++
	}
	switch {
	case s.failNext > 0:
		s.failNext--
		p.failStatus = f.FailStatus
		if p.failStatus == 0 {
			p.failStatus = http.StatusServiceUnavailable
		}
	case f.ErrorProbability > 0 && s.rnd.Float64() < f.ErrorProbability:
		codes := f.ErrorStatuses
		if len(codes) == 0 {
			codes = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}
		}
		p.failStatus = codes[s.rnd.IntN(len(codes))]
	}
	if p.failStatus != 0 {
		s.stats.InjectedErrors++
	} else if f.TruncateProbability > 0 && s.rnd.Float64() < f.TruncateProbability {
		p.truncate = true
		s.stats.Truncated++
	}
	return p, false
}

func (s *Server) rollWindow(now time.Time) {
	start := now.Truncate(time.Minute)
	if !start.Equal(s.window) {
		s.window = start
		s.used = 0
	}
}

func ceilSeconds(d time.Duration) int {
	n := int((d + time.Second - 1) / time.Second)
	if n < 1 {
		n = 1
	}
	return n
}

// correlationID mimics the recorded "c134d022-ecd9-4668-a1f0-5ec26c2b1f78#2543252".
func (s *Server) correlationID() string {
	s.ctl.Lock()
	s.corrSeq++
	n := s.corrSeq
	s.ctl.Unlock()
	t := s.corrTrunk
	return fmt.Sprintf("%s-%s-%s-%s-%012x#%d", t[:8], t[8:12], t[12:16], t[:4], n, n)
}

// truncatingWriter holds the body back and sends only its first half before
// aborting the connection, so a client sees a short read on a 200.
type truncatingWriter struct {
	http.ResponseWriter
	status int
	buf    []byte
}

func (t *truncatingWriter) WriteHeader(code int) { t.status = code }
func (t *truncatingWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	return len(p), nil
}

func (t *truncatingWriter) finish() {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	if len(t.buf) < 2 {
		t.ResponseWriter.WriteHeader(t.status)
		_, _ = t.ResponseWriter.Write(t.buf)
		return
	}
	t.ResponseWriter.Header().Set("Content-Length", strconv.Itoa(len(t.buf)))
	t.ResponseWriter.WriteHeader(t.status)
	_, _ = t.ResponseWriter.Write(t.buf[:len(t.buf)/2])
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	panic(http.ErrAbortHandler)
}
