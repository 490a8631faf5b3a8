package httpapi

// The queue page (the README's HTTP surface, issue 7): one server-rendered page
// for the SSTs, usable with JavaScript off and on a phone.
//
// What it must not do: put Help Scout text (subjects, names, notes) into a
// template.HTML or any other trusted type (html/template's escaping is the
// only thing between a customer's subject line and the SST's browser);
// write the admin token anywhere after the login form (not into a cookie,
// a URL or a log); change anything on GET.

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

//go:embed templates/*.html static/*.css
var pageFiles embed.FS

// PageQueue is what the queue page reads from the mirror.
type PageQueue interface {
	OpenConversations(ctx context.Context, f store.OpenFilter) ([]store.OpenConversation, error)
	ListProposals(ctx context.Context, f store.ProposalFilter) ([]store.Proposal, error)
}

// CustomerNames names the primary customer of conversations, by
// conversation id ("First Last", or the email when Help Scout has no name).
// The page asks only for the rows it shows.
type CustomerNames interface {
	CustomerNames(ctx context.Context, conversationIDs []int64) (map[int64]string, error)
}

// FirstResponses lists the first response times (first agent reply minus
// creation) of customer-started conversations whose first reply was sent
// at or after since.
type FirstResponses interface {
	FirstResponseTimes(ctx context.Context, since time.Time) ([]time.Duration, error)
}

// Notices lists mistakes of the setup that only Help Scout's data reveals
// (a roster entry that matches no user, no SST for stuck tickets); the page
// shows each as a warning at the top.
type Notices interface {
	Notices(ctx context.Context) ([]string, error)
}

// JoinNotices returns Notices listing each source's notices in turn. A
// source that fails leaves its notices out; the first error is returned
// with the others' notices.
func JoinNotices(sources ...Notices) Notices { return noticeList(sources) }

type noticeList []Notices

func (l noticeList) Notices(ctx context.Context) ([]string, error) {
	var out []string
	var first error
	for _, src := range l {
		if src == nil {
			continue
		}
		ns, err := src.Notices(ctx)
		if err != nil {
			first = cmp.Or(first, err)
			continue
		}
		out = append(out, ns...)
	}
	return out, first
}

// PageOptions wires the queue page (GET /) and its login and actions.
type PageOptions struct {
	Team    Team
	Queue   PageQueue
	Decider Decider
	// Customers names the customers of the listed tickets; nil shows
	// their Help Scout customer id instead.
	Customers CustomerNames
	// FirstResponses feeds "first response today"; nil leaves it out.
	FirstResponses FirstResponses
	// Notices, when set, puts the setup's mistakes on the page.
	Notices Notices
	// Routing, when set, shows the routing mode and, in steer mode, who is
	// in each inbox's rotation and why.
	Routing Routing
	// Mode is QW_MODE. "Plan now" runs the balancer as its own runs do, so
	// in apply mode the moves it finds are made at once and the button
	// must say so; in off mode it plans nothing and is not offered. Empty
	// reads as propose.
	Mode string

	// Backlog is QW_BACKLOG as the balancer's policy holds it, for the
	// unassigned queue's note on when its tickets are handed out: 0 only
	// to someone with no customer waiting (idle, the default),
	// math.MaxInt64 at once (oldest), else to someone with whom a new
	// customer would wait at most that long.
	Backlog time.Duration

	// AdminToken is what the login form checks; empty makes the page
	// read-only (no login, no forms).
	AdminToken string
	StuckAfter time.Duration

	// Failures, when set, decides which of the page's failed reads are
	// logged (store.DB.SayFailure): a damaged database file fails every
	// view, and is said once between the page and the daemon's loops.
	// Nil logs every failure.
	Failures store.FailureSayer

	// Location is the team's zone (the office hours'), of absolute times
	// and of "today"; nil is UTC, and the page says the zone is not set.
	Location *time.Location

	// maxRows caps each ticket list; 0 means pageMaxRows. Only tests
	// change it, to see the cap with a few tickets.
	maxRows int
}

// everyFailure says every failure.
type everyFailure struct{}

func (everyFailure) SayFailure(err error, say func(error)) { say(err) }

// The page's fixed figures.
const (
	// pageRefreshEvery is the auto-refresh period.
	pageRefreshEvery = 30 * time.Second
	// sessionTTL is how long a login lasts: a working day.
	sessionTTL = 12 * time.Hour
	// maxLoginFailures is how many wrong tokens per remote address per
	// minute are answered 401 before the rest get a slow 429; the right
	// token always logs in.
	maxLoginFailures = 5
	// pageMaxRows caps each ticket list; the JSON API has them all.
	pageMaxRows = 200
	// recentMoves is how many decided proposals the page shows.
	recentMoves = 30
)

// page serves the queue page. Its state (sessions, failed logins) lives
// here, owned by the Server that EnablePage was called on.
type page struct {
	o PageOptions
	// zoneSet: the zone is the team's, not UTC by default.
	zoneSet  bool
	now      func() time.Time
	log      *slog.Logger
	tmpl     *template.Template
	css      []byte
	sessions *sessions
	limiter  *loginLimiter
	// unready is the server's (Server.unready): while the daemon is not
	// ready, the page says whether its counts cover only what is mirrored
	// so far or the whole queue as of an earlier sync.
	unready func() (unready, bool)
	// queueAsOf is the server's QueueAsOf, nil without one: once ready,
	// the page says when the queue it shows was read.
	queueAsOf QueueAsOfFunc
}

// EnablePage adds the queue page: GET /, GET and POST /login, POST /logout,
// POST /proposals/{id}/approve and /reject, POST /plan, and the stylesheet.
//
// Team and Queue are required, and Decider is when AdminToken is set: a
// missing one is a wiring bug, so EnablePage panics at startup rather than
// on the first SST's click.
func (s *Server) EnablePage(o PageOptions) {
	if o.Team == nil || o.Queue == nil || (o.AdminToken != "" && o.Decider == nil) {
		panic("httpapi: EnablePage needs Team and Queue, and a Decider when AdminToken is set")
	}
	p := newPage(o, s.opts.Now, s.opts.Logger)
	p.unready, p.queueAsOf = s.unready, s.opts.QueueAsOf
	s.pageZone = p.o.Location
	// Cross-origin browser POSTs are refused before the CSRF token is even
	// looked at; the token covers browsers that send neither Origin nor
	// Sec-Fetch-Site.
	cop := http.NewCrossOriginProtection()
	post := func(h http.HandlerFunc) http.Handler { return cop.Handler(h) }

	s.mux.HandleFunc("GET /{$}", p.handlePage)
	s.mux.HandleFunc("GET /static/page.css", p.handleCSS)
	s.mux.HandleFunc("GET /login", p.handleLoginForm)
	s.mux.Handle("POST /login", post(p.handleLogin))
	s.mux.Handle("POST /logout", post(p.handleLogout))
	s.mux.Handle("POST /proposals/{id}/approve", post(p.handleDecide(true)))
	s.mux.Handle("POST /proposals/{id}/reject", post(p.handleDecide(false)))
	s.mux.Handle("POST /plan", post(p.handlePlan))
}

func newPage(o PageOptions, now func() time.Time, log *slog.Logger) *page {
	zoneSet := o.Location != nil
	if !zoneSet {
		o.Location = time.UTC
	}
	if o.maxRows <= 0 {
		o.maxRows = pageMaxRows
	}
	if o.Failures == nil {
		o.Failures = everyFailure{}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &page{
		o:        o,
		zoneSet:  zoneSet,
		now:      now,
		log:      log,
		tmpl:     template.Must(template.New("").ParseFS(pageFiles, "templates/*.html")),
		css:      pageCSS(),
		sessions: newSessions(sessionTTL, now),
		limiter:  newLoginLimiter(maxLoginFailures, time.Minute, now),
	}
}

// pageCSS is the embedded stylesheet plus one class per whole percent for
// the load bars. Classes instead of style attributes let the page run
// under a Content-Security-Policy that forbids inline styles.
func pageCSS() []byte {
	base, err := pageFiles.ReadFile("static/page.css")
	if err != nil {
		panic(err) // embedded at build time
	}
	var b bytes.Buffer
	b.Write(base)
	b.WriteString("\n/* generated: bar widths and fair-share marks */\n")
	for i := 0; i <= 100; i++ {
		fmt.Fprintf(&b, ".w%d{width:%d%%}.m%d{left:%d%%}\n", i, i, i, i)
	}
	return b.Bytes()
}

func (p *page) readOnly() bool { return p.o.AdminToken == "" }

// setPageHeaders applies to every HTML answer: nothing cached (the page
// carries a CSRF token), nothing framed, no script at all.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// render executes a template into a buffer first, so a template error
// never leaves half a page behind a 200.
func (p *page) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error("render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (p *page) handleCSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(p.css)
}

// currentSession returns the request's live session, if any.
func (p *page) currentSession(r *http.Request) (string, session, bool) {
	if p.readOnly() {
		return "", session{}, false
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", session{}, false
	}
	sess, ok := p.sessions.get(c.Value)
	if !ok {
		return "", session{}, false
	}
	return c.Value, sess, true
}

func (p *page) handlePage(w http.ResponseWriter, r *http.Request) {
	now := p.now()
	refresh := r.URL.Query().Get("refresh") == "on"
	v := p.collect(r.Context(), now)
	v.Refresh = refresh
	v.RefreshSeconds = int(pageRefreshEvery / time.Second)
	v.ReadOnly = p.readOnly()
	v.Mode = cmp.Or(p.o.Mode, "propose")
	v.NothingToApprove = v.Mode == "apply" && v.Pending.Total == 0
	if u, waiting := p.unready(); waiting {
		v.NotReady = u.why
		// Whole but stale: the time of the sync it is, said as every time
		// on the page is.
		v.QueueAsOf = absTime(u.asOf, now, p.o.Location)
		v.NoSyncSinceRestart, v.ReasonSaysRestart = u.sinceRestart, u.whySaysRestart
		v.Damaged = u.damaged
	} else if p.queueAsOf != nil {
		asOf, _ := p.queueAsOf()
		v.SyncedAt = absTime(asOf, now, p.o.Location)
	}
	if v.Mode == "off" && v.Routing != nil && v.Routing.Running == "own" {
		// The log says it once at start; the page says it while it lasts.
		v.Notices = append(v.Notices, "QW_ROUTING=own with QW_MODE=off: nobody assigns new conversations (the inbox's routing is off, and queuewrangler assigns nothing while off), so they wait in the Unassigned folder.")
	}
	if sid, sess, ok := p.currentSession(r); ok {
		v.LoggedIn = true
		v.CSRF = sess.csrf
		v.Who = sess.who
		v.Flash = p.sessions.takeFlash(sid)
	}
	status := http.StatusOK
	if len(v.Errors) > 0 {
		status = http.StatusInternalServerError
	}
	p.render(w, status, "page.html", v)
}

// loginView feeds login.html.
type loginView struct {
	Error   string
	Refresh bool
}

func (p *page) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if p.readOnly() {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "login.html", loginView{Refresh: r.URL.Query().Get("refresh") == "on"})
}

// maxFormBytes bounds every form the page accepts; its largest is a token
// and a name.
const maxFormBytes = 8 << 10

// maxWhoLen bounds the name that goes into the audit log.
const maxWhoLen = 64

func (p *page) handleLogin(w http.ResponseWriter, r *http.Request) {
	if p.readOnly() {
		p.forbidden(w, "This queuewrangler is read-only: no admin token is configured (QW_ADMIN_TOKEN).")
		return
	}
	addr := remoteAddr(r)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.render(w, http.StatusBadRequest, "login.html", loginView{Error: "The form could not be read."})
		return
	}
	refresh := r.PostForm.Get("refresh") == "on"
	// The right token always logs in: the limiter only slows wrong ones,
	// so nobody sharing the address (a proxy) can lock the SSTs out.
	if !tokenMatches(r.PostForm.Get("token"), p.o.AdminToken) {
		p.log.Warn("page login failed", "remote", addr)
		if limited, wait := p.limiter.refuse(r.Context(), addr); limited {
			secs := retryAfterSeconds(wait)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			p.render(w, http.StatusTooManyRequests, "login.html",
				loginView{Error: fmt.Sprintf("Too many failed logins from your address. Try again in %d seconds.", secs), Refresh: refresh})
			return
		}
		p.render(w, http.StatusUnauthorized, "login.html", loginView{Error: "That is not the admin token.", Refresh: refresh})
		return
	}
	who := strings.TrimSpace(r.PostForm.Get("who"))
	if len([]rune(who)) > maxWhoLen {
		who = string([]rune(who)[:maxWhoLen])
	}
	id, _ := p.sessions.create(who)
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(sessionTTL / time.Second),
		HttpOnly: true,
		Secure:   p.secure(r),
		SameSite: http.SameSiteStrictMode,
	})
	p.sessions.setFlash(id, flash{Text: "Logged in. You can approve and reject proposals."})
	p.log.Info("page login", "remote", addr, "who", who)
	redirectBack(w, r, refresh, "")
}

func (p *page) handleLogout(w http.ResponseWriter, r *http.Request) {
	id, _, ok := p.checkForm(w, r)
	if !ok {
		return
	}
	p.sessions.delete(id)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure(r), SameSite: http.SameSiteStrictMode,
	})
	redirectBack(w, r, r.PostForm.Get("refresh") == "on", "")
}

// checkForm admits a state-changing POST: the page must be writable, the
// browser logged in, and the form's CSRF token the session's own. On
// failure it has answered 403 and nothing may change.
func (p *page) checkForm(w http.ResponseWriter, r *http.Request) (string, session, bool) {
	if p.readOnly() {
		p.forbidden(w, "This queuewrangler is read-only: no admin token is configured (QW_ADMIN_TOKEN).")
		return "", session{}, false
	}
	id, sess, ok := p.currentSession(r)
	if !ok {
		p.forbidden(w, "You are not logged in, or your session has expired. Log in and try again.")
		return "", session{}, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.forbidden(w, "The form could not be read.")
		return "", session{}, false
	}
	if !tokenMatches(r.PostForm.Get("csrf"), sess.csrf) {
		p.log.Warn("page form refused: bad csrf token", "remote", remoteAddr(r), "path", r.URL.Path)
		p.forbidden(w, "This form is out of date or did not come from this page. Reload the page and try again.")
		return "", session{}, false
	}
	return id, sess, true
}

// messageView feeds message.html.
type messageView struct {
	Title     string
	Text      string
	LoginLink bool
}

func (p *page) forbidden(w http.ResponseWriter, msg string) {
	p.render(w, http.StatusForbidden, "message.html", messageView{Title: "forbidden", Text: msg, LoginLink: !p.readOnly()})
}

// redirectBack answers a form with 303 to the page, keeping auto-refresh.
func redirectBack(w http.ResponseWriter, r *http.Request, refresh bool, fragment string) {
	u := url.URL{Path: "/", Fragment: fragment}
	if refresh {
		u.RawQuery = "refresh=on"
	}
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// decidedBy is what the audit log records for a page decision.
func decidedBy(sess session) string {
	if sess.who == "" {
		return "page"
	}
	return "page: " + sess.who
}

func (p *page) handleDecide(approve bool) http.HandlerFunc {
	verb, done := "reject", "rejected"
	if approve {
		verb, done = "approve", "approved"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			http.Error(w, "invalid proposal id", http.StatusBadRequest)
			return
		}
		sid, sess, ok := p.checkForm(w, r)
		if !ok {
			return
		}
		var prop store.Proposal
		if approve {
			prop, err = p.o.Decider.Approve(r.Context(), id, decidedBy(sess))
		} else {
			prop, err = p.o.Decider.Reject(r.Context(), id, decidedBy(sess))
		}
		var f flash
		switch {
		case errors.Is(err, store.ErrNotFound):
			f = flash{Text: fmt.Sprintf("Proposal %d does not exist.", id), Error: true}
		case errors.Is(err, store.ErrConflict) && whyNotPending(prop) != "":
			f = flash{Text: fmt.Sprintf("Proposal %d is no longer pending%s.", id, whyNotPending(prop)), Error: true}
		case errors.Is(err, store.ErrConflict):
			f = flash{Text: fmt.Sprintf("Proposal %d is no longer pending: someone or something decided it first.", id), Error: true}
		case errors.Is(err, context.Canceled):
			// The browser went away, or the daemon is stopping: nothing
			// failed (see decisionError).
			p.log.Info("page "+verb+" cut short: the request went away", "proposal", id, "err", err)
			f = flash{Text: fmt.Sprintf("Proposal %d: the request was cut short; the balancer's next run finishes the move if it was approved.", id), Error: true}
		case err != nil:
			p.log.Error("page "+verb+" proposal", "proposal", id, "err", err)
			f = flash{Text: fmt.Sprintf("Could not %s proposal %d (internal error; the daemon log has the detail).", verb, id), Error: true}
		default:
			f = flash{Text: decisionFlash(prop, done)}
			if prop.Status == store.ProposalApproved && p.o.Mode == "off" {
				f.Text += " " + approvedWaitWhileOff + "."
			}
			p.log.Info("page decision", "proposal", id, "decision", done, "by", decidedBy(sess), "status", string(prop.Status))
		}
		p.sessions.setFlash(sid, f)
		redirectBack(w, r, r.PostForm.Get("refresh") == "on", "moves")
	}
}

// decisionFlash says what became of the decided proposal: approving one
// may apply it at once, or find it stale.
func decisionFlash(prop store.Proposal, done string) string {
	msg := fmt.Sprintf("Proposal %d (ticket #%d) %s", prop.ID, prop.ConversationNumber, done)
	if string(prop.Status) != done {
		msg += "; now " + string(prop.Status)
	}
	if prop.Error != "" {
		msg += ": " + prop.Error
	}
	return msg + "."
}

func (p *page) handlePlan(w http.ResponseWriter, r *http.Request) {
	sid, sess, ok := p.checkForm(w, r)
	if !ok {
		return
	}
	// As the API's plan: never from a half-read mirror, nor from a stale
	// one, whose moves would act on tickets as they were.
	if u, waiting := p.unready(); waiting {
		p.sessions.setFlash(sid, flash{Text: "Nothing planned: not ready (" + u.why + "). Plan now works once the daemon is ready.", Error: true})
		redirectBack(w, r, r.PostForm.Get("refresh") == "on", "proposals")
		return
	}
	props, err := p.o.Decider.PlanNow(r.Context())
	var f flash
	fragment := "proposals"
	if err != nil {
		p.log.Error("page plan", "err", err)
		f = flash{Text: "Planning failed (internal error; the daemon log has the detail).", Error: true}
	} else {
		f = flash{Text: planFlash(props)}
		if !slices.ContainsFunc(props, func(pr store.Proposal) bool { return pr.Status == store.ProposalPending }) && len(props) > 0 {
			fragment = "moves" // in apply mode the run's moves are made: they are recent moves
		}
		p.log.Info("page plan", "proposals", len(props), "by", decidedBy(sess))
	}
	p.sessions.setFlash(sid, f)
	redirectBack(w, r, r.PostForm.Get("refresh") == "on", fragment)
}

// planFlash says what a run started from the page did, by outcome: in
// propose mode its moves wait for approval, in apply mode they are made
// (or found stale, or failed) before the page sees them.
func planFlash(props []store.Proposal) string {
	if len(props) == 0 {
		return "Planned: nothing to move right now."
	}
	counts := make(map[store.ProposalStatus]int)
	for _, pr := range props {
		st := pr.Status
		if st == store.ProposalApproved {
			st = store.ProposalApplying // both mean the move is under way
		}
		counts[st]++
	}
	// In the order an SST acts on: what waits for them, then what was done.
	phrases := []struct {
		status         store.ProposalStatus
		single, plural string
	}{
		{store.ProposalPending, "1 proposal waiting for approval", "%d proposals waiting for approval"},
		{store.ProposalApplied, "1 move applied", "%d moves applied"},
		{store.ProposalApplying, "1 move being applied", "%d moves being applied"},
		{store.ProposalStale, "1 move skipped as stale", "%d moves skipped as stale"},
		{store.ProposalFailed, "1 move failed", "%d moves failed"},
		{store.ProposalRejected, "1 move rejected", "%d moves rejected"},
	}
	var parts []string
	for _, ph := range phrases {
		switch n := counts[ph.status]; n {
		case 0:
		case 1:
			parts = append(parts, ph.single)
		default:
			parts = append(parts, fmt.Sprintf(ph.plural, n))
		}
	}
	return "Planned: " + strings.Join(parts, ", ") + "."
}

// secure says whether the session cookie must be Secure: the request came
// over TLS, or through a proxy that terminated TLS (X-Forwarded-Proto).
// Trusting the header is safe here: a forged one can only make the cookie
// stricter, and the browser then withholds it from plain HTTP.
func (p *page) secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
