package helpscout

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxErrorBodyBytes bounds how much of an error body CheckResponse reads;
// Help Scout's error documents are a few hundred bytes.
const maxErrorBodyBytes = 64 << 10

// maxMessageLen bounds the server text copied into an error.
const maxMessageLen = 512

// ErrNotFound matches (errors.Is) any 404 answer: an unknown id, or a merged
// conversation's id on anything but GET.
var ErrNotFound = errors.New("helpscout: not found")

// ErrForbidden matches (errors.Is) any 403 answer: the app's user lacks a
// permission, such as "Inbox: Manage Routing" for the routing endpoints.
var ErrForbidden = errors.New("helpscout: forbidden")

// ErrorResponse is a non-2xx answer that is neither a 429 nor a 401. It
// holds Help Scout's vnd.error document: LogRef to quote to support, a
// message, and per-field validation errors.
type ErrorResponse struct {
	StatusCode    int
	Method        string // of the request
	Path          string // of the request, without the query
	LogRef        string
	Message       string
	About         string // documentation link, if any
	Errors        []FieldError
	CorrelationID string
}

// FieldError is one entry of a validation error's _embedded.errors.
type FieldError struct {
	Path          string // the offending field, e.g. "subject"
	Message       string
	RejectedValue string // as JSON text when not a string
	Source        string // e.g. "JSON"
	About         string // documentation link
}

func (e *ErrorResponse) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for i, fe := range e.Errors {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", fe.Path, fe.Message)
		if fe.RejectedValue != "" {
			fmt.Fprintf(&b, " (got %q)", fe.RejectedValue)
		}
		if i == len(e.Errors)-1 {
			b.WriteString(")")
		}
	}
	writeRefs(&b, e.LogRef, e.CorrelationID)
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for a 404 and
// errors.Is(err, ErrForbidden) true for a 403.
func (e *ErrorResponse) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden
	}
	return false
}

// RateLimitError is a 429: the account's per-minute budget is spent. Wait
// RetryAfter (from X-RateLimit-Retry-After) before the next request.
type RateLimitError struct {
	Method, Path  string
	Rate          Rate
	RetryAfter    time.Duration
	Message       string
	CorrelationID string
}

func (e *RateLimitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: 429 rate limited", e.Method, e.Path)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	writeRefs(&b, "", e.CorrelationID)
	return b.String()
}

// AuthError is a 401 (the token expired or was revoked, or its user is no
// longer active) or any OAuth-style error document
// {"error":"invalid_token","error_description":"..."}. The usual remedy is a
// new token and one repeat of the request, which is the auth transport's job.
type AuthError struct {
	Method, Path  string
	StatusCode    int
	Code          string // OAuth "error", e.g. invalid_token
	Description   string // OAuth "error_description"
	Message       string // Help Scout "message", when the body was not OAuth-shaped
	CorrelationID string
}

func (e *AuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
	}
	if d := firstNonEmpty(e.Description, e.Message); d != "" {
		b.WriteString(": ")
		b.WriteString(d)
	}
	writeRefs(&b, "", e.CorrelationID)
	return b.String()
}

func writeRefs(b *strings.Builder, logRef, correlationID string) {
	switch {
	case logRef != "" && correlationID != "":
		fmt.Fprintf(b, " [logRef %s, correlation id %s]", logRef, correlationID)
	case logRef != "":
		fmt.Fprintf(b, " [logRef %s]", logRef)
	case correlationID != "":
		fmt.Fprintf(b, " [correlation id %s]", correlationID)
	}
}

// errorDoc is the union of the error bodies seen: Help Scout's vnd.error
// (links under _links.about.href, or the older links:[{rel,href}]) and the
// OAuth shape.
type errorDoc struct {
	LogRef   string    `json:"logRef"`
	Message  string    `json:"message"`
	Links    halLinks  `json:"_links"`
	OldLinks []relLink `json:"links"`
	Embedded struct {
		Errors []struct {
			Path          string          `json:"path"`
			Message       string          `json:"message"`
			RejectedValue json.RawMessage `json:"rejectedValue"`
			Source        string          `json:"source"`
			Links         halLinks        `json:"_links"`
			OldLinks      []relLink       `json:"links"`
		} `json:"errors"`
	} `json:"_embedded"`
	OAuthError       string `json:"error"`
	OAuthDescription string `json:"error_description"`
}

type halLinks struct {
	About struct {
		Href string `json:"href"`
	} `json:"about"`
}

type relLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

func aboutLink(h halLinks, old []relLink) string {
	if h.About.Href != "" {
		return h.About.Href
	}
	for _, l := range old {
		if l.Rel == "about" {
			return l.Href
		}
	}
	return ""
}

// CheckResponse returns nil for a 2xx response and a typed error otherwise:
// *RateLimitError for 429, *AuthError for 401 or an OAuth-style body,
// *ErrorResponse for the rest (errors.Is(err, ErrNotFound) for 404,
// errors.Is(err, ErrForbidden) for 403). It
// reads at most 64 KiB of the body and does not close it. Text copied from
// the body is bounded and scrubbed of anything that looks like a bearer
// token.
func CheckResponse(r *http.Response) error {
	if r.StatusCode >= 200 && r.StatusCode <= 299 {
		return nil
	}
	var method, path string
	if r.Request != nil && r.Request.URL != nil {
		method, path = r.Request.Method, r.Request.URL.Path
	}
	correlationID := clip(r.Header.Get(headerCorrelationID))

	var data []byte
	if r.Body != nil {
		data, _ = io.ReadAll(io.LimitReader(r.Body, maxErrorBodyBytes))
	}
	var doc errorDoc
	parsed := len(data) > 0 && json.Unmarshal(data, &doc) == nil
	if !parsed {
		doc = errorDoc{}
	}
	message := clip(doc.Message)
	if !parsed {
		// A proxy's HTML page or a truncated document: keep a short,
		// printable excerpt so the failure can be diagnosed.
		message = clip(string(data))
	}

	switch {
	case r.StatusCode == http.StatusTooManyRequests:
		rate := parseRate(r.Header)
		return &RateLimitError{
			Method: method, Path: path,
			Rate: rate, RetryAfter: rate.RetryAfter,
			Message: message, CorrelationID: correlationID,
		}
	case r.StatusCode == http.StatusUnauthorized || doc.OAuthError != "":
		return &AuthError{
			Method: method, Path: path, StatusCode: r.StatusCode,
			Code: clip(doc.OAuthError), Description: clip(doc.OAuthDescription),
			Message: message, CorrelationID: correlationID,
		}
	}
	e := &ErrorResponse{
		StatusCode: r.StatusCode, Method: method, Path: path,
		LogRef: clip(doc.LogRef), Message: message,
		About:         clip(aboutLink(doc.Links, doc.OldLinks)),
		CorrelationID: correlationID,
	}
	for _, fe := range doc.Embedded.Errors {
		e.Errors = append(e.Errors, FieldError{
			Path:          clip(fe.Path),
			Message:       clip(fe.Message),
			RejectedValue: clip(looseString(fe.RejectedValue)),
			Source:        clip(fe.Source),
			About:         clip(aboutLink(fe.Links, fe.OldLinks)),
		})
	}
	return e
}

// clip makes server text safe to put in an error string: bearer tokens
// redacted, control characters replaced, at most maxMessageLen bytes.
func clip(s string) string {
	s = redactBearer(s)
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != ' ') {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxMessageLen {
		cut := maxMessageLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// redactBearer replaces the credential after each "bearer" and its
// whitespace (any case), in case a proxy echoes request headers into its
// error page.
func redactBearer(s string) string {
	const word = "bearer"
	lower := asciiLower(s) // same length as s, so indexes carry over
	if !strings.Contains(lower, word) {
		return s
	}
	var b strings.Builder
	i := 0
	for {
		j := strings.Index(lower[i:], word)
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		start := i + j + len(word)
		for start < len(s) && (s[start] == ' ' || s[start] == '\t') {
			start++
		}
		end := start
		if start > i+j+len(word) { // "bearer" then whitespace: a credential follows
			for end < len(s) && !isTokenEnd(s[end]) {
				end++
			}
		}
		b.WriteString(s[i:start])
		if end > start {
			b.WriteString("[redacted]")
		}
		i = end
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isTokenEnd(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' || c == '\'' || c == ',' || c == '<'
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
