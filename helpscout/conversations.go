package helpscout

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ConversationsService covers /v2/conversations.
type ConversationsService service

// Values for ConversationListOptions.
const (
	EmbedThreads = "threads"

	SortCreatedAt     = "createdAt"
	SortCustomerEmail = "customerEmail"
	SortCustomerName  = "customerName"
	SortMailboxID     = "mailboxid"
	SortModifiedAt    = "modifiedAt"
	SortNumber        = "number"
	SortScore         = "score"
	SortStatus        = "status"
	SortSubject       = "subject"
	SortWaitingSince  = "waitingSince"

	SortAsc  = "asc"
	SortDesc = "desc"
)

// ConversationListOptions are the filters of GET /v2/conversations; all are
// ANDed and zero values are not sent. Help Scout's defaults are
// status=active, sortField=createdAt, sortOrder=desc: a sync must ask for
// StatusAll explicitly.
type ConversationListOptions struct {
	Status        string    // active, pending, closed, spam, open, all
	ModifiedSince time.Time // sent as UTC without fractional seconds
	SortField     string    // Sort* constants
	SortOrder     string    // SortAsc or SortDesc
	Embed         string    // EmbedThreads
	Mailbox       []int64   // sent comma-separated
	Folder        int64
	Tag           []string // tag names, comma-separated
	AssignedTo    int64    // user id; the query key is assigned_to
	Number        int64    // the conversation number shown in the UI
	Query         string   // advanced search, e.g. (email:"x@y.com")
	CustomFields  []CustomFieldFilter
	Page          int // 1-based; 0 means the first page
}

// CustomFieldFilter matches conversations whose custom field ID has Value
// (customFieldsByIds=id:value).
type CustomFieldFilter struct {
	ID    int64
	Value string
}

func (o *ConversationListOptions) values() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("status", o.Status)
	if !o.ModifiedSince.IsZero() {
		q.Set("modifiedSince", formatTime(o.ModifiedSince))
	}
	set("sortField", o.SortField)
	set("sortOrder", o.SortOrder)
	set("embed", o.Embed)
	set("mailbox", joinIDs(o.Mailbox))
	set("folder", idString(o.Folder))
	set("tag", strings.Join(o.Tag, ","))
	set("assigned_to", idString(o.AssignedTo))
	set("number", idString(o.Number))
	set("query", o.Query)
	if len(o.CustomFields) > 0 {
		parts := make([]string, len(o.CustomFields))
		for i, f := range o.CustomFields {
			parts[i] = strconv.FormatInt(f.ID, 10) + ":" + f.Value
		}
		q.Set("customFieldsByIds", strings.Join(parts, ","))
	}
	if o.Page > 1 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	return q
}

func idString(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// List fetches one page (25 conversations) of GET /v2/conversations.
// Response.Page tells where it is in the list.
func (s *ConversationsService) List(ctx context.Context, opts *ConversationListOptions) ([]Conversation, *Response, error) {
	convs, resp, err := getPage[Conversation](ctx, s.client, "v2/conversations", keyConversations, opts.values())
	if err != nil {
		return nil, resp, fmt.Errorf("list conversations (page %d): %w", opts.page(), err)
	}
	return convs, resp, nil
}

func (o *ConversationListOptions) page() int {
	if o == nil {
		return 1
	}
	return max(o.Page, 1)
}

// All walks every page of the list from opts.Page on. It works on a copy of
// opts. The list is not a snapshot: a conversation that changes during the
// walk may move between pages, so syncs should overlap their windows.
func (s *ConversationsService) All(ctx context.Context, opts *ConversationListOptions) iter.Seq2[Conversation, error] {
	var o ConversationListOptions
	if opts != nil {
		o = *opts
		o.Mailbox = slices.Clone(o.Mailbox)
		o.Tag = slices.Clone(o.Tag)
		o.CustomFields = slices.Clone(o.CustomFields)
	}
	return walk(ctx, o.Page, func(ctx context.Context, page int) ([]Conversation, *Response, error) {
		p := o
		p.Page = page
		return s.List(ctx, &p)
	})
}

// maxMergeHops bounds how many merge redirects Get follows.
const maxMergeHops = 3

// Get fetches one conversation, with its threads embedded if asked.
//
// A conversation merged into another answers 301 with a Location for 60
// days. Get follows it (at most maxMergeHops times) by asking the same base
// URL for the id in Location, never the Location itself, and returns the
// surviving conversation with Response.MergedFrom set to the id asked for.
// MergedFrom is also set when a lower transport followed the redirect and
// the conversation returned simply has another id.
func (s *ConversationsService) Get(ctx context.Context, id int64, embedThreads bool) (*Conversation, *Response, error) {
	if id <= 0 {
		return nil, nil, fmt.Errorf("get conversation: invalid id %d", id)
	}
	var q url.Values
	if embedThreads {
		q = url.Values{"embed": {EmbedThreads}}
	}
	current := id
	for hop := 0; ; hop++ {
		conv := new(Conversation)
		resp, err := s.client.get(ctx, "v2/conversations/"+strconv.FormatInt(current, 10), q, conv)
		if err == nil {
			if conv.ID != 0 && conv.ID != id {
				resp.MergedFrom = id
			}
			return conv, resp, nil
		}
		if resp == nil || resp.StatusCode != http.StatusMovedPermanently {
			return nil, resp, fmt.Errorf("get conversation %d: %w", id, err)
		}
		if hop >= maxMergeHops {
			return nil, resp, fmt.Errorf("get conversation %d: more than %d merge redirects", id, maxMergeHops)
		}
		next, perr := mergedInto(resp.Header.Get("Location"))
		if perr != nil {
			return nil, resp, fmt.Errorf("get conversation %d: merged: %w", id, perr)
		}
		if next == current {
			return nil, resp, fmt.Errorf("get conversation %d: redirect to itself", id)
		}
		current = next
	}
}

// mergedInto reads the conversation id from a 301 Location such as
// https://api.helpscout.net/v2/conversations/123.
func mergedInto(location string) (int64, error) {
	if location == "" {
		return 0, errors.New("301 without a Location")
	}
	u, err := url.Parse(location)
	if err != nil {
		return 0, errors.New("unparsable Location")
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if n := len(segs); n >= 2 && segs[n-2] == "conversations" {
		if id, err := strconv.ParseInt(segs[n-1], 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, fmt.Errorf("location path %q names no conversation", u.Path)
}

// patchOp is the one JSON-Patch object a conversation PATCH takes.
type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func (s *ConversationsService) patch(ctx context.Context, id int64, op patchOp) (*Response, error) {
	if id <= 0 {
		return nil, fmt.Errorf("invalid conversation id %d", id)
	}
	return s.client.send(ctx, http.MethodPatch, "v2/conversations/"+strconv.FormatInt(id, 10), op)
}

// Assign makes userID the assignee (PATCH replace /assignTo; 204). It counts
// twice against the rate limit, like every write.
func (s *ConversationsService) Assign(ctx context.Context, id, userID int64) (*Response, error) {
	if userID <= 0 {
		return nil, fmt.Errorf("assign conversation %d: invalid user id %d (use Unassign)", id, userID)
	}
	resp, err := s.patch(ctx, id, patchOp{Op: "replace", Path: "/assignTo", Value: userID})
	if err != nil {
		return resp, fmt.Errorf("assign conversation %d to %d: %w", id, userID, err)
	}
	return resp, nil
}

// Unassign removes the assignee (PATCH remove /assignTo, no value; 204).
func (s *ConversationsService) Unassign(ctx context.Context, id int64) (*Response, error) {
	resp, err := s.patch(ctx, id, patchOp{Op: "remove", Path: "/assignTo"})
	if err != nil {
		return resp, fmt.Errorf("unassign conversation %d: %w", id, err)
	}
	return resp, nil
}

// UpdateStatus sets the status (active, pending, closed, spam; 204).
func (s *ConversationsService) UpdateStatus(ctx context.Context, id int64, status string) (*Response, error) {
	if status == "" || status == StatusAll {
		return nil, fmt.Errorf("update conversation %d: invalid status %q", id, status)
	}
	resp, err := s.patch(ctx, id, patchOp{Op: "replace", Path: "/status", Value: status})
	if err != nil {
		return resp, fmt.Errorf("update conversation %d status to %s: %w", id, status, err)
	}
	return resp, nil
}

// NoteRequest is the body of POST /v2/conversations/{id}/notes.
type NoteRequest struct {
	Text string `json:"text"`
	// User is the acting user; 0 means the token's owner.
	User int64 `json:"user,omitempty"`
	// Status, if set, changes the conversation status with the note.
	Status string `json:"status,omitempty"`
	// Imported notes notify nobody.
	Imported bool `json:"imported,omitempty"`
	// CreatedAt is accepted only with Imported.
	CreatedAt Time `json:"createdAt,omitzero"`
}

// CreateNote adds a private note and returns the new thread's id from the
// Resource-ID header of the 201. The id is 0 if the server did not send the
// header; the note exists all the same, so that is not an error (a retry
// would add a second note).
func (s *ConversationsService) CreateNote(ctx context.Context, id int64, note NoteRequest) (int64, *Response, error) {
	if id <= 0 {
		return 0, nil, fmt.Errorf("create note: invalid conversation id %d", id)
	}
	if strings.TrimSpace(note.Text) == "" {
		return 0, nil, fmt.Errorf("create note on conversation %d: empty text", id)
	}
	resp, err := s.client.send(ctx, http.MethodPost, "v2/conversations/"+strconv.FormatInt(id, 10)+"/notes", note)
	if err != nil {
		return 0, resp, fmt.Errorf("create note on conversation %d: %w", id, err)
	}
	return resp.ResourceID, resp, nil
}
