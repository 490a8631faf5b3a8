package helpscouttest

// The fake's own wire encoding. It deliberately shares nothing with the
// helpscout client so that the client's decoder is tested against an
// independent reading of the recorded payloads. Field order follows the
// recordings; optional keys are absent rather than null.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const timeLayout = "2006-01-02T15:04:05Z"

func fmtTime(t time.Time) string { return t.UTC().Format(timeLayout) }

type href struct {
	Href      string `json:"href"`
	Templated bool   `json:"templated,omitempty"`
}

func link(format string, args ...any) *href { return &href{Href: fmt.Sprintf(format, args...)} }

type wirePerson struct {
	ID       int64  `json:"id"`
	Type     string `json:"type,omitempty"`
	First    string `json:"first"`
	Last     string `json:"last"`
	PhotoURL string `json:"photoUrl,omitempty"`
	Email    string `json:"email"`
}

type wireSource struct {
	Type string `json:"type"`
	Via  string `json:"via"`
}

type wireTag struct {
	ID    int64  `json:"id"`
	Color string `json:"color"`
	Tag   string `json:"tag"`
}

type wireWaiting struct {
	Time     string `json:"time"`
	Friendly string `json:"friendly"`
}

type convLinks struct {
	Assignee          *href `json:"assignee,omitempty"`
	ClosedBy          *href `json:"closedBy,omitempty"`
	CreatedByCustomer *href `json:"createdByCustomer,omitempty"`
	CreatedByUser     *href `json:"createdByUser,omitempty"`
	Mailbox           *href `json:"mailbox,omitempty"`
	PrimaryCustomer   *href `json:"primaryCustomer,omitempty"`
	Self              *href `json:"self,omitempty"`
	Threads           *href `json:"threads,omitempty"`
	Web               *href `json:"web,omitempty"`
}

type wireConversation struct {
	ID                   int64             `json:"id"`
	Number               int64             `json:"number"`
	Threads              int               `json:"threads"`
	Type                 string            `json:"type"`
	FolderID             int64             `json:"folderId"`
	Status               string            `json:"status"`
	State                string            `json:"state"`
	Subject              string            `json:"subject"`
	Preview              string            `json:"preview"`
	MailboxID            int64             `json:"mailboxId"`
	Assignee             *wirePerson       `json:"assignee,omitempty"`
	CreatedBy            wirePerson        `json:"createdBy"`
	CreatedAt            string            `json:"createdAt"`
	ClosedBy             int64             `json:"closedBy"`
	ClosedAt             string            `json:"closedAt,omitempty"`
	UserUpdatedAt        string            `json:"userUpdatedAt"`
	CustomerWaitingSince wireWaiting       `json:"customerWaitingSince"`
	Source               wireSource        `json:"source"`
	Tags                 []wireTag         `json:"tags"`
	CC                   []string          `json:"cc"`
	BCC                  []string          `json:"bcc"`
	PrimaryCustomer      wirePerson        `json:"primaryCustomer"`
	CustomFields         []json.RawMessage `json:"customFields"`
	Embedded             *struct {
		Threads []wireThread `json:"threads"`
	} `json:"_embedded,omitempty"`
	Links convLinks `json:"_links"`
}

type wireAction struct {
	Type               string           `json:"type"`
	Text               string           `json:"text,omitempty"`
	AssociatedEntities map[string]int64 `json:"associatedEntities,omitempty"`
}

type threadLinks struct {
	AssignedTo        *href `json:"assignedTo,omitempty"`
	CreatedByCustomer *href `json:"createdByCustomer,omitempty"`
	CreatedByUser     *href `json:"createdByUser,omitempty"`
	Customer          *href `json:"customer,omitempty"`
}

type wireThread struct {
	ID           int64        `json:"id"`
	Type         string       `json:"type"`
	Status       string       `json:"status"`
	State        string       `json:"state"`
	Action       wireAction   `json:"action"`
	Body         *string      `json:"body,omitempty"`
	Source       wireSource   `json:"source"`
	Customer     *wirePerson  `json:"customer,omitempty"`
	CreatedBy    wirePerson   `json:"createdBy"`
	AssignedTo   *wirePerson  `json:"assignedTo,omitempty"`
	SavedReplyID *int64       `json:"savedReplyId,omitempty"`
	To           *[]string    `json:"to,omitempty"`
	CC           *[]string    `json:"cc,omitempty"`
	BCC          *[]string    `json:"bcc,omitempty"`
	CreatedAt    string       `json:"createdAt"`
	Embedded     *attachments `json:"_embedded,omitempty"`
	Links        threadLinks  `json:"_links"`
}

type attachments struct {
	Attachments []json.RawMessage `json:"attachments"`
}

type selfLinks struct {
	Self *href `json:"self"`
}

type wireUser struct {
	ID        int64     `json:"id"`
	FirstName string    `json:"firstName"`
	LastName  string    `json:"lastName"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	Timezone  string    `json:"timezone"`
	PhotoURL  string    `json:"photoUrl,omitempty"`
	CreatedAt string    `json:"createdAt"`
	UpdatedAt string    `json:"updatedAt"`
	Type      string    `json:"type"`
	Links     selfLinks `json:"_links"`
}

type wireTeam struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Timezone  string `json:"timezone"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	Mention   string `json:"mention"`
	Initials  string `json:"initials"`
	Links     struct {
		Self        *href `json:"self"`
		TeamMembers *href `json:"teamMembers"`
	} `json:"_links"`
}

type wireUserStatus struct {
	UserID int64 `json:"userId"`
	Email  struct {
		Status    string `json:"status"`
		UpdatedAt string `json:"updatedAt"`
		Source    string `json:"source"`
	} `json:"email"`
	Chat struct {
		Status          string            `json:"status"`
		MailboxStatuses map[string]string `json:"mailboxStatuses"`
	} `json:"chat"`
}

type wireMailbox struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Slug      string `json:"slug"`
	Email     string `json:"email"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	Links     struct {
		Fields  *href `json:"fields"`
		Folders *href `json:"folders"`
		Self    *href `json:"self"`
	} `json:"_links"`
}

type wireFolder struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	UserID      int64  `json:"userId"`
	TotalCount  int    `json:"totalCount"`
	ActiveCount int    `json:"activeCount"`
	UpdatedAt   string `json:"updatedAt"`
}

// wireRouting is GET /v2/mailboxes/{id}/routing. The limit and the method
// are documented as always present when routing is enabled; the fake
// leaves them out only while they were never set.
type wireRouting struct {
	State            string         `json:"state"`
	AssignmentLimit  int            `json:"assignmentLimit,omitempty"`
	AssignmentMethod string         `json:"assignmentMethod,omitempty"`
	UserIDs          []int64        `json:"userIds"`
	Rotation         []wireRotation `json:"rotation"`
	Links            selfLinks      `json:"_links"`
}

// wireRotation is one entry of rotation[]: reason is absent when eligible.
type wireRotation struct {
	UserID             int64  `json:"userId"`
	ConversationsCount int    `json:"conversationsCount"`
	Eligible           bool   `json:"eligible"`
	Reason             string `json:"reason,omitempty"`
}

type pageLinks struct {
	First    *href `json:"first,omitempty"`
	Last     *href `json:"last,omitempty"`
	Next     *href `json:"next,omitempty"`
	Page     *href `json:"page,omitempty"`
	Previous *href `json:"previous,omitempty"`
	Self     *href `json:"self"`
}

type pageInfo struct {
	Size          int `json:"size"`
	TotalElements int `json:"totalElements"`
	TotalPages    int `json:"totalPages"`
	Number        int `json:"number"`
}

type halPage struct {
	Embedded map[string]any `json:"_embedded,omitempty"`
	Links    pageLinks      `json:"_links"`
	Page     pageInfo       `json:"page"`
}

// encode marshals without HTML escaping, as Help Scout sends "<p>" verbatim.
func encode(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("helpscouttest: encode %T: %v", v, err))
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func writeJSONBytes(w http.ResponseWriter, status int, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeHAL(w http.ResponseWriter, v any) {
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	writeJSONBytes(w, http.StatusOK, "application/hal+json", encode(v))
}

// writeNoContent answers 201/204 like the recordings: empty text/plain body.
func writeNoContent(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.WriteHeader(status)
}

// fieldError is one entry of a validation error's _embedded.errors.
type fieldError struct {
	Path          string `json:"path"`
	Message       string `json:"message"`
	RejectedValue string `json:"rejectedValue,omitempty"`
	Source        string `json:"source"`
	Links         struct {
		About *href `json:"about"`
	} `json:"_links"`
}

func newFieldError(path, msg, rejected, source, anchor string) fieldError {
	fe := fieldError{Path: path, Message: msg, RejectedValue: rejected, Source: source}
	fe.Links.About = link("http://developer.helpscout.net/mailbox-api/overview/errors#%s", anchor)
	return fe
}

type errorBody struct {
	LogRef   string `json:"logRef"`
	Message  string `json:"message"`
	Embedded *struct {
		Errors []fieldError `json:"errors"`
	} `json:"_embedded,omitempty"`
	Links struct {
		About *href `json:"about"`
	} `json:"_links"`
}

func (s *Server) errorBody(msg string, errs []fieldError) []byte {
	b := errorBody{LogRef: s.correlationID(), Message: msg}
	if len(errs) > 0 {
		b.Embedded = &struct {
			Errors []fieldError `json:"errors"`
		}{errs}
	}
	b.Links.About = link("http://developer.helpscout.net/mailbox-api/overview/errors")
	return encode(b)
}

// writeError answers in the vnd.error shape of developer.helpscout.com.
func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	writeJSONBytes(w, status, "application/vnd.error+json", s.errorBody(msg, nil))
}

func (s *Server) writeValidation(w http.ResponseWriter, errs ...fieldError) {
	writeJSONBytes(w, http.StatusBadRequest, "application/vnd.error+json", s.errorBody("Bad request", errs))
}

// writeFailure answers a request the fake refuses: the validation body for
// a 400, "Access denied" for a 403 (a missing permission), the status text
// otherwise.
func (s *Server) writeFailure(w http.ResponseWriter, status int, errs ...fieldError) {
	switch status {
	case http.StatusBadRequest:
		s.writeValidation(w, errs...)
	case http.StatusForbidden:
		s.writeError(w, status, "Access denied")
	default:
		s.writeError(w, status, http.StatusText(status))
	}
}

// baseURL is the scheme and host the request came to, so that links
// (pagination, the 301 Location of merged conversations) lead back here.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// pageOf renders a HAL page in the shape of the recordings: self is the URL
// as requested, first/last/next/previous carry the same query with page=n,
// page is the RFC 6570 template.
func pageOf(r *http.Request, key string, items []any, total, size, number int, emptyEmbedded bool) halPage {
	base := baseURL(r) + r.URL.Path
	q := r.URL.Query()
	q.Del("page")
	withPage := func(n int) *href {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("page", strconv.Itoa(n))
		return &href{Href: base + "?" + qq.Encode()}
	}
	pages := (total + size - 1) / size
	p := halPage{Page: pageInfo{Size: size, TotalElements: total, TotalPages: pages, Number: number}}
	self := base
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	p.Links.Self = &href{Href: self}
	p.Links.First = withPage(1)
	p.Links.Last = withPage(max(pages, 1))
	if number < pages {
		p.Links.Next = withPage(number + 1)
	}
	if number > 1 && number <= pages+1 {
		p.Links.Previous = withPage(number - 1)
	}
	if enc := q.Encode(); enc != "" {
		p.Links.Page = &href{Href: base + "?" + enc + "{&page}", Templated: true}
	} else {
		p.Links.Page = &href{Href: base + "{?page}", Templated: true}
	}
	if len(items) > 0 || emptyEmbedded {
		if items == nil {
			items = []any{}
		}
		p.Embedded = map[string]any{key: items}
	}
	return p
}

// friendly imitates customerWaitingSince.friendly ("Just now", "2 days ago",
// "May 16", "Apr 12, '18").
func friendly(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "Just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "min") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 7*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	case t.Year() == now.Year():
		return t.Format("Jan 2")
	default:
		return t.Format("Jan 2, '06")
	}
}

func plural(n int, unit string) string {
	if n == 1 || unit == "min" {
		return strconv.Itoa(n) + " " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}
