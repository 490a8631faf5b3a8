package helpscouttest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Page sizes of the v2 API: 25 conversations, 50 of everything else.
const (
	ConversationPageSize = 25
	PageSize             = 50
)

// maxBody bounds request bodies (Help Scout documents 100 kB for v1).
const maxBody = 100 << 10

func parsePage(r *http.Request) (int, *fieldError) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		fe := newFieldError("page", "must be a number greater than or equal to 1", v, "QUERY", "InvalidNumber")
		return 0, &fe
	}
	return n, nil
}

func window(total, size, page int) (lo, hi int) {
	lo = min((page-1)*size, total)
	hi = min(lo+size, total)
	return lo, hi
}

// ----------------------------------------------------------- conversations

var listStatuses = map[string]bool{"all": true, "active": true, "pending": true, "closed": true, "spam": true, "open": true}

var sortFields = map[string]bool{
	"createdAt": true, "customerEmail": true, "customerName": true, "mailboxid": true,
	"modifiedAt": true, "number": true, "status": true, "subject": true, "waitingSince": true,
}

func (s *Server) handleListConversations(w http.ResponseWriter, r *http.Request, _ int64) {
	q := r.URL.Query()
	var errs []fieldError
	bad := func(path, msg, val, anchor string) {
		errs = append(errs, newFieldError(path, msg, val, "QUERY", anchor))
	}
	status := cmp.Or(q.Get("status"), StatusActive)
	if !listStatuses[status] {
		bad("status", "Expected one of these: 'active', 'all', 'closed', 'open', 'pending', 'spam'", status, "EnumValue")
	}
	parseIDs := func(name string) map[int64]bool {
		v := q.Get(name)
		if v == "" {
			return nil
		}
		set := map[int64]bool{}
		for _, part := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil {
				bad(name, "Invalid number", v, "InvalidNumber")
				return nil
			}
			set[n] = true
		}
		return set
	}
	mailboxes := parseIDs("mailbox")
	folders := parseIDs("folder")
	assigned := parseIDs("assigned_to")
	numbers := parseIDs("number")
	var tags map[string]bool
	if v := q.Get("tag"); v != "" {
		tags = map[string]bool{}
		for _, t := range strings.Split(v, ",") {
			tags[strings.TrimSpace(t)] = true
		}
	}
	var since time.Time
	if v := q.Get("modifiedSince"); v != "" {
		// time.Parse would accept fractional seconds; Help Scout does not.
		t, err := time.Parse(timeLayout, v)
		if err != nil || len(v) != len(timeLayout) {
			bad("modifiedSince", "Malformed date. Expected format: yyyy-MM-dd'T'HH:mm:ss'Z'", v, "MalformedDate")
		}
		since = t
	}
	sortField := cmp.Or(q.Get("sortField"), "createdAt")
	if !sortFields[sortField] {
		bad("sortField", "Expected one of these: 'createdAt', 'customerEmail', 'customerName', 'mailboxid', 'modifiedAt', 'number', 'status', 'subject', 'waitingSince'", sortField, "EnumValue")
	}
	desc := true
	switch q.Get("sortOrder") {
	case "", "desc":
	case "asc":
		desc = false
	default:
		bad("sortOrder", "Expected one of these: 'asc', 'desc'", q.Get("sortOrder"), "EnumValue")
	}
	embed := false
	switch q.Get("embed") {
	case "":
	case "threads":
		embed = true
	default:
		bad("embed", "Expected one of these: 'threads'", q.Get("embed"), "EnumValue")
	}
	if v := q.Get("query"); v != "" {
		bad("query", "advanced search is not modelled by the fake", v, "ValueNotSupported")
	}
	if v := q.Get("customFieldsByIds"); v != "" {
		bad("customFieldsByIds", "custom fields are not modelled by the fake", v, "ValueNotSupported")
	}
	page, perr := parsePage(r)
	if perr != nil {
		errs = append(errs, *perr)
	}
	if len(errs) > 0 {
		s.writeValidation(w, errs...)
		return
	}

	s.mu.Lock()
	// A mailbox the account does not have (deleted, RemoveMailbox, or an
	// id it never had) fails the whole listing, as Help Scout answers an
	// unknown id elsewhere; whether its listing does the same is
	// unconfirmed, and this is the reading a client must survive.
	// One the API user may no longer open (RevokeMailbox) fails it with
	// a 403, unless the listing also names one the account does not have.
	if status, ok := s.mailboxFilterDenied(mailboxes); !ok {
		s.mu.Unlock()
		s.writeFailure(w, status)
		return
	}
	var sel []*Conversation
	for _, c := range s.convs {
		if !c.live() || s.revoked[c.MailboxID] {
			continue
		}
		switch status {
		case "all":
		case "open":
			if c.Status != StatusActive && c.Status != StatusPending {
				continue
			}
		default:
			if c.Status != status {
				continue
			}
		}
		if mailboxes != nil && !mailboxes[c.MailboxID] ||
			folders != nil && !folders[c.FolderID] ||
			assigned != nil && !assigned[c.AssigneeID] ||
			numbers != nil && !numbers[c.Number] ||
			!since.IsZero() && c.ModifiedAt.Before(since) {
			continue
		}
		if tags != nil && !slices.ContainsFunc(c.Tags, func(t Tag) bool { return tags[t.Name] }) {
			continue
		}
		sel = append(sel, c)
	}
	key := s.sortKey(sortField)
	slices.SortFunc(sel, func(a, b *Conversation) int {
		c := key(a, b)
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			c = -c
		}
		return c
	})
	lo, hi := window(len(sel), ConversationPageSize, page)
	now := s.clock()
	base := baseURL(r)
	items := make([]any, 0, hi-lo)
	for _, c := range sel[lo:hi] {
		items = append(items, s.renderConversation(c, base, embed, now))
	}
	p := pageOf(r, "conversations", items, len(sel), ConversationPageSize, page, s.opts.EmptyEmbedded)
	s.mu.Unlock()
	writeHAL(w, p)
}

// sortKey compares by one sortField; ties are broken by id by the caller so
// that paging is stable.
func (s *Server) sortKey(field string) func(a, b *Conversation) int {
	switch field {
	case "modifiedAt":
		return func(a, b *Conversation) int { return a.ModifiedAt.Compare(b.ModifiedAt) }
	case "number":
		return func(a, b *Conversation) int { return cmp.Compare(a.Number, b.Number) }
	case "status":
		return func(a, b *Conversation) int { return cmp.Compare(a.Status, b.Status) }
	case "subject":
		return func(a, b *Conversation) int { return cmp.Compare(a.Subject, b.Subject) }
	case "mailboxid":
		return func(a, b *Conversation) int { return cmp.Compare(a.MailboxID, b.MailboxID) }
	case "waitingSince":
		return func(a, b *Conversation) int { return a.CustomerWaitingSince.Compare(b.CustomerWaitingSince) }
	case "customerEmail", "customerName":
		name := func(c *Conversation) string {
			cu := s.customers[c.CustomerID]
			if cu == nil {
				return ""
			}
			if field == "customerEmail" {
				return cu.Email
			}
			return cu.First + " " + cu.Last
		}
		return func(a, b *Conversation) int { return cmp.Compare(name(a), name(b)) }
	default:
		return func(a, b *Conversation) int { return a.CreatedAt.Compare(b.CreatedAt) }
	}
}

func (s *Server) handleGetConversation(w http.ResponseWriter, r *http.Request, id int64) {
	embed := false
	switch v := r.URL.Query().Get("embed"); v {
	case "":
	case "threads":
		embed = true
	default:
		s.writeValidation(w, newFieldError("embed", "Expected one of these: 'threads'", v, "QUERY", "EnumValue"))
		return
	}
	s.mu.Lock()
	c := s.convs[id]
	switch {
	case c != nil && s.revoked[c.MailboxID]:
		s.mu.Unlock()
		s.writeFailure(w, http.StatusForbidden)
		return
	case c == nil || c.Deleted:
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "Resource not found")
		return
	case c.MergedInto != 0:
		s.mu.Unlock()
		loc := fmt.Sprintf("%s/v2/conversations/%d", baseURL(r), c.MergedInto)
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	body := s.renderConversation(c, baseURL(r), embed, s.clock())
	s.mu.Unlock()
	writeHAL(w, body)
}

func (s *Server) handleListThreads(w http.ResponseWriter, r *http.Request, id int64) {
	page, perr := parsePage(r)
	if perr != nil {
		s.writeValidation(w, *perr)
		return
	}
	s.mu.Lock()
	c, err := s.liveConv(id)
	if err != nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	if s.revoked[c.MailboxID] {
		s.mu.Unlock()
		s.writeFailure(w, http.StatusForbidden)
		return
	}
	threads := newestFirst(c.Threads)
	lo, hi := window(len(threads), PageSize, page)
	base := baseURL(r)
	items := make([]any, 0, hi-lo)
	for i := lo; i < hi; i++ {
		items = append(items, s.renderThread(c, &threads[i], base))
	}
	p := pageOf(r, "threads", items, len(threads), PageSize, page, s.opts.EmptyEmbedded)
	s.mu.Unlock()
	writeHAL(w, p)
}

// PatchRecord is one PATCH /v2/conversations/{id} the fake received.
type PatchRecord struct {
	ConversationID int64
	Op             string
	Path           string
	Value          json.RawMessage // as sent; nil when absent
	StatusCode     int             // what the fake answered
	At             time.Time       // Clock() when it was applied
}

// NoteRecord is one POST /v2/conversations/{id}/notes the fake received.
type NoteRecord struct {
	ConversationID int64
	Text           string
	User           int64
	Status         string
	Imported       bool
	ThreadID       int64 // 0 unless created
	StatusCode     int
	At             time.Time
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxBody {
		return nil, errTooLarge
	}
	return b, nil
}

var errTooLarge = fmt.Errorf("request body too large")

func (s *Server) handlePatchConversation(w http.ResponseWriter, r *http.Request, id int64) {
	rec := PatchRecord{ConversationID: id}
	defer func() {
		s.ctl.Lock()
		s.patches = append(s.patches, rec)
		s.ctl.Unlock()
	}()
	fail := func(status int, errs ...fieldError) {
		rec.StatusCode = status
		s.writeFailure(w, status, errs...)
	}
	b, err := readBody(r)
	if err != nil {
		fail(http.StatusRequestEntityTooLarge)
		return
	}
	var op struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		fail(http.StatusBadRequest, newFieldError("", "Expected a single patch operation object, not an array", "", "JSON", "ValueNotSupported"))
		return
	}
	if err := json.Unmarshal(b, &op); err != nil {
		fail(http.StatusBadRequest, newFieldError("", "Malformed JSON", "", "JSON", "ValueNotSupported"))
		return
	}
	rec.Op, rec.Path, rec.Value = op.Op, op.Path, op.Value

	s.mu.Lock()
	defer s.unlockAfterChange()
	rec.At = s.now()
	c := s.convs[id]
	if c == nil || !c.live() {
		fail(http.StatusNotFound)
		return
	}
	if s.revoked[c.MailboxID] {
		fail(http.StatusForbidden)
		return
	}
	actor := s.ownerID
	badValue := func(path, msg, anchor string) {
		fail(http.StatusBadRequest, newFieldError(path, msg, string(op.Value), "JSON", anchor))
	}
	switch {
	case op.Op == "replace" && op.Path == "/assignTo":
		var uid int64
		if err := json.Unmarshal(op.Value, &uid); err != nil || len(op.Value) == 0 {
			badValue("value", "Invalid number", "InvalidNumber")
			return
		}
		if s.users[uid] == nil {
			badValue("assignTo", "Invalid user", "InvalidIdentifier")
			return
		}
		_, _ = s.assignLocked(id, actor, uid, time.Time{})
	case op.Op == "remove" && op.Path == "/assignTo":
		_, _ = s.assignLocked(id, actor, 0, time.Time{})
	case op.Op == "replace" && op.Path == "/status":
		var st string
		if err := json.Unmarshal(op.Value, &st); err != nil || !validStatus(st) {
			badValue("status", "Expected one of these: 'active', 'spam', 'open', 'closed', 'pending'", "EnumValue")
			return
		}
		_, _ = s.setStatusLocked(id, actor, st, time.Time{})
	case op.Op == "replace" && op.Path == "/subject":
		var subj string
		if err := json.Unmarshal(op.Value, &subj); err != nil || strings.TrimSpace(subj) == "" {
			badValue("subject", "may not be empty", "NotEmpty")
			return
		}
		t := s.now()
		c.Subject = subj
		c.UserUpdatedAt = later(c.UserUpdatedAt, t)
		c.ModifiedAt = later(c.ModifiedAt, t)
	case op.Op == "move" && op.Path == "/mailboxId":
		var mb int64
		if err := json.Unmarshal(op.Value, &mb); err != nil || s.mailboxes[mb] == nil || s.revoked[mb] {
			badValue("mailboxId", "Invalid mailbox", "InvalidIdentifier")
			return
		}
		_ = s.moveLocked(id, actor, mb, time.Time{})
	case op.Op != "replace" && op.Op != "remove" && op.Op != "move":
		fail(http.StatusBadRequest, newFieldError("op", "Expected one of these: 'replace', 'remove', 'move'", op.Op, "JSON", "EnumValue"))
		return
	default:
		fail(http.StatusBadRequest, newFieldError("path", "Operation not supported by the fake for this path", op.Path, "JSON", "ValueNotSupported"))
		return
	}
	rec.StatusCode = http.StatusNoContent
	writeNoContent(w, http.StatusNoContent)
}

func (s *Server) handleCreateNote(w http.ResponseWriter, r *http.Request, id int64) {
	rec := NoteRecord{ConversationID: id}
	defer func() {
		s.ctl.Lock()
		s.notes = append(s.notes, rec)
		s.ctl.Unlock()
	}()
	fail := func(status int, errs ...fieldError) {
		rec.StatusCode = status
		s.writeFailure(w, status, errs...)
	}
	b, err := readBody(r)
	if err != nil {
		fail(http.StatusRequestEntityTooLarge)
		return
	}
	var in struct {
		Text      string  `json:"text"`
		User      int64   `json:"user"`
		Status    string  `json:"status"`
		Imported  bool    `json:"imported"`
		CreatedAt *string `json:"createdAt"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		fail(http.StatusBadRequest, newFieldError("", "Malformed JSON", "", "JSON", "ValueNotSupported"))
		return
	}
	rec.Text, rec.User, rec.Status, rec.Imported = in.Text, in.User, in.Status, in.Imported

	s.mu.Lock()
	defer s.unlockAfterChange()
	rec.At = s.now()
	c := s.convs[id]
	if c == nil || !c.live() {
		fail(http.StatusNotFound)
		return
	}
	if s.revoked[c.MailboxID] {
		fail(http.StatusForbidden)
		return
	}
	var errs []fieldError
	if strings.TrimSpace(in.Text) == "" {
		errs = append(errs, newFieldError("text", "may not be empty", "", "JSON", "NotEmpty"))
	}
	if in.User != 0 && s.users[in.User] == nil {
		errs = append(errs, newFieldError("user", "Invalid user", strconv.FormatInt(in.User, 10), "JSON", "InvalidIdentifier"))
	}
	if in.Status != "" && !validStatus(in.Status) {
		errs = append(errs, newFieldError("status", "Expected one of these: 'active', 'spam', 'open', 'closed', 'pending'", in.Status, "JSON", "EnumValue"))
	}
	var at time.Time
	if in.CreatedAt != nil {
		t, err := time.Parse(timeLayout, *in.CreatedAt)
		switch {
		case err != nil || len(*in.CreatedAt) != len(timeLayout):
			errs = append(errs, newFieldError("createdAt", "Malformed date", *in.CreatedAt, "JSON", "MalformedDate"))
		case !in.Imported:
			errs = append(errs, newFieldError("createdAt", "may only be set on imported threads", *in.CreatedAt, "JSON", "ValueNotSupported"))
		default:
			at = t
		}
	}
	if len(errs) > 0 {
		fail(http.StatusBadRequest, errs...)
		return
	}
	if len(c.Threads) >= MaxThreads {
		fail(http.StatusPreconditionFailed)
		return
	}
	th := s.addThreadLocked(c, ThreadNote, ThreadInput{
		UserID: cmp.Or(in.User, s.ownerID), Body: in.Text, Status: in.Status, At: at, Imported: in.Imported,
	})
	rec.ThreadID, rec.StatusCode = th.ID, http.StatusCreated
	w.Header().Set("Resource-ID", strconv.FormatInt(th.ID, 10))
	w.Header().Set("Location", fmt.Sprintf("%s/v2/conversations/%d/threads/%d", baseURL(r), c.ID, th.ID))
	writeNoContent(w, http.StatusCreated)
}

// ------------------------------------------------------- users and teams

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, _ int64) {
	email := r.URL.Query().Get("email")
	// mailbox=1,2 lists the users who can open any of them. Whether the real
	// API lists teams under this filter is not documented; the fake leaves
	// them out, as it does for an email filter.
	var mailboxes []int64
	if v := r.URL.Query().Get("mailbox"); v != "" {
		for _, part := range strings.Split(v, ",") {
			n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil {
				s.writeValidation(w, newFieldError("mailbox", "Invalid number", v, "QUERY", "InvalidNumber"))
				return
			}
			mailboxes = append(mailboxes, n)
		}
	}
	named := map[int64]bool{}
	for _, m := range mailboxes {
		named[m] = true
	}
	// As the conversation listing: a mailbox the account does not have,
	// or one taken from the API user, fails the listing.
	s.mu.Lock()
	status, ok := s.mailboxFilterDenied(named)
	s.mu.Unlock()
	if !ok {
		s.writeFailure(w, status)
		return
	}
	canOpen := func(u *User) bool {
		if len(mailboxes) == 0 || u.Mailboxes == nil {
			return true
		}
		return slices.ContainsFunc(mailboxes, func(m int64) bool { return slices.Contains(u.Mailboxes, m) })
	}
	s.servePage(w, r, "users", func() ([]any, bool) {
		base := baseURL(r)
		ids := slices.Sorted(func(yield func(int64) bool) {
			for id := range s.users {
				if !yield(id) {
					return
				}
			}
			for id := range s.teams {
				if !yield(id) {
					return
				}
			}
		})
		var items []any
		for _, id := range ids {
			if u := s.users[id]; u != nil {
				if (email == "" || strings.EqualFold(u.Email, email)) && canOpen(u) {
					items = append(items, s.renderUser(u, base))
				}
			} else if email == "" && len(mailboxes) == 0 {
				items = append(items, s.renderTeamAsUser(s.teams[id], base))
			}
		}
		return items, true
	})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, _ int64) {
	s.handleGetUser(w, r, s.Owner())
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, id int64) {
	s.serveOne(w, func() (any, bool) {
		if u := s.users[id]; u != nil {
			return s.renderUser(u, baseURL(r)), true
		}
		if t := s.teams[id]; t != nil {
			return s.renderTeamAsUser(t, baseURL(r)), true
		}
		return nil, false
	})
}

func (s *Server) handleListUserStatuses(w http.ResponseWriter, r *http.Request, _ int64) {
	s.servePage(w, r, "userStatuses", func() ([]any, bool) {
		var items []any
		for _, id := range slices.Sorted(maps.Keys(s.users)) {
			items = append(items, s.renderUserStatus(s.users[id]))
		}
		return items, true
	})
}

func (s *Server) handleGetUserStatus(w http.ResponseWriter, r *http.Request, id int64) {
	s.serveOne(w, func() (any, bool) {
		u := s.users[id]
		if u == nil {
			return nil, false
		}
		return s.renderUserStatus(u), true
	})
}

func (s *Server) handleListTeams(w http.ResponseWriter, r *http.Request, _ int64) {
	s.servePage(w, r, "teams", func() ([]any, bool) {
		var items []any
		for _, t := range sortedTeams(s.teams) {
			items = append(items, s.renderTeam(t, baseURL(r)))
		}
		return items, true
	})
}

func (s *Server) handleTeamMembers(w http.ResponseWriter, r *http.Request, id int64) {
	s.servePage(w, r, "users", func() ([]any, bool) {
		t := s.teams[id]
		if t == nil {
			return nil, false
		}
		var items []any
		for _, uid := range slices.Sorted(slices.Values(t.MemberIDs)) {
			if u := s.users[uid]; u != nil {
				items = append(items, s.renderUser(u, baseURL(r)))
			}
		}
		return items, true
	})
}

// ------------------------------------------------------------- mailboxes

func (s *Server) handleListMailboxes(w http.ResponseWriter, r *http.Request, _ int64) {
	s.servePage(w, r, "mailboxes", func() ([]any, bool) {
		var items []any
		for _, id := range slices.Sorted(maps.Keys(s.mailboxes)) {
			if s.revoked[id] {
				continue
			}
			items = append(items, s.renderMailbox(s.mailboxes[id], baseURL(r)))
		}
		return items, true
	})
}

func (s *Server) handleGetMailbox(w http.ResponseWriter, r *http.Request, id int64) {
	if s.mailboxRevoked(w, id) {
		return
	}
	s.serveOne(w, func() (any, bool) {
		m := s.mailboxes[id]
		if m == nil {
			return nil, false
		}
		return s.renderMailbox(m, baseURL(r)), true
	})
}

func (s *Server) handleListFolders(w http.ResponseWriter, r *http.Request, id int64) {
	if s.mailboxRevoked(w, id) {
		return
	}
	s.servePage(w, r, "folders", func() ([]any, bool) {
		m := s.mailboxes[id]
		if m == nil {
			return nil, false
		}
		var items []any
		for _, f := range s.renderFolders(m) {
			items = append(items, f)
		}
		return items, true
	})
}

// servePage answers a list endpoint of PageSize items: collect runs under
// the lock and reports found=false for an unknown parent (404).
func (s *Server) servePage(w http.ResponseWriter, r *http.Request, key string, collect func() (items []any, found bool)) {
	page, perr := parsePage(r)
	if perr != nil {
		s.writeValidation(w, *perr)
		return
	}
	s.mu.Lock()
	items, found := collect()
	s.mu.Unlock()
	if !found {
		s.writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	lo, hi := window(len(items), PageSize, page)
	writeHAL(w, pageOf(r, key, items[lo:hi], len(items), PageSize, page, s.opts.EmptyEmbedded))
}

// serveOne answers a get endpoint: render runs under the lock and reports
// found=false for an unknown id (404).
func (s *Server) serveOne(w http.ResponseWriter, render func() (body any, found bool)) {
	s.mu.Lock()
	body, found := render()
	s.mu.Unlock()
	if !found {
		s.writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	writeHAL(w, body)
}

// mailboxFilterDenied checks the mailboxes a listing names (under s.mu):
// ok is false when one is not the account's (status 404: deleted, or an id
// it never had) or taken from the API user (403, RevokeMailbox); the 404
// comes first, so that the answer does not hang on the map's order.
func (s *Server) mailboxFilterDenied(mailboxes map[int64]bool) (status int, ok bool) {
	for id := range mailboxes {
		if s.mailboxes[id] == nil {
			return http.StatusNotFound, false
		}
	}
	for id := range mailboxes {
		if s.revoked[id] {
			return http.StatusForbidden, false
		}
	}
	return 0, true
}

// mailboxRevoked answers 403 for a mailbox RevokeMailbox took, and
// reports whether it did.
func (s *Server) mailboxRevoked(w http.ResponseWriter, id int64) bool {
	s.mu.Lock()
	revoked := s.revoked[id]
	s.mu.Unlock()
	if revoked {
		s.writeFailure(w, http.StatusForbidden)
	}
	return revoked
}
