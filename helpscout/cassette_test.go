package helpscout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// interaction is one request/response pair of a VCR cassette.
type interaction struct {
	method, uri string
	reqHeader   http.Header
	reqBody     string
	status      int
	respHeader  http.Header
	respBody    string
}

// placeholders are the VCR placeholders and their stand-ins, as in the
// samples' SOURCES.md table (the access token stays as it is).
var placeholders = strings.NewReplacer(
	"<TEST_CONVERSATION_ID>", "900000001",
	"<TEST_MAILBOX_ID>", "900002",
	"<TEST_USER_ID>", "900003",
	"<TEST_CUSTOMER_ID>", "900000004",
	"<TEST_THREAD_ID>", "900000005",
	"<TEST_CUSTOMER_EMAIL>", "test-customer@example.invalid",
)

// parseCassette reads the subset of YAML that VCR writes: an interaction
// list whose leaves are plain or single-quoted scalars (single-quoted ones
// fold across lines). Anything else is an error, not a silent skip.
func parseCassette(data string) ([]interaction, error) {
	lines := strings.Split(data, "\n")
	var (
		out     []interaction
		cur     *interaction
		side    string // request or response
		block   string // body, headers or status
		hdrName string
	)
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		text := line[indent:]
		key, rest, hasColon := strings.Cut(text, ":")
		rest = strings.TrimSpace(rest)
		switch {
		case indent == 0 && text == "- request:":
			out = append(out, interaction{reqHeader: http.Header{}, respHeader: http.Header{}})
			cur, side, block = &out[len(out)-1], "request", ""
		case indent == 0:
			// http_interactions:, recorded_with: ...
		case cur == nil:
			return nil, fmt.Errorf("line %d: %q outside an interaction", i+1, text)
		case indent == 2 && text == "response:":
			side, block = "response", ""
		case indent == 2:
			// recorded_at: ...
		case indent == 4 && hasColon && rest == "":
			block, hdrName = key, ""
		case indent == 4 && hasColon:
			val, next, err := scalar(lines, i, rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			i = next
			switch key {
			case "method":
				cur.method = strings.ToUpper(val)
			case "uri":
				cur.uri = val
			}
		case indent == 6 && block == "headers" && strings.HasPrefix(text, "- "):
			val, next, err := scalar(lines, i, strings.TrimPrefix(text, "- "))
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			i = next
			h := cur.reqHeader
			if side == "response" {
				h = cur.respHeader
			}
			h.Add(hdrName, val)
		case indent == 6 && block == "headers" && hasColon && rest == "":
			hdrName = key
		case indent == 6 && hasColon:
			val, next, err := scalar(lines, i, rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			i = next
			switch {
			case block == "body" && key == "string" && side == "request":
				cur.reqBody = val
			case block == "body" && key == "string":
				cur.respBody = val
			case block == "status" && key == "code":
				if cur.status, err = strconv.Atoi(val); err != nil {
					return nil, fmt.Errorf("line %d: status code %q", i+1, val)
				}
			}
		default:
			return nil, fmt.Errorf("line %d: unexpected %q", i+1, line)
		}
	}
	return out, nil
}

// scalar reads the value starting as first on line i and returns it with
// the index of its last line. Plain scalars may continue on more-indented
// lines; single-quoted ones run to the closing quote (a doubled quote is a quote).
// Either way a line break folds to a space and a blank line to "\n".
func scalar(lines []string, i int, first string) (string, int, error) {
	if first == "" || strings.ContainsAny(first[:1], `"|>!&*`) {
		return "", i, fmt.Errorf("unsupported scalar %q", first)
	}
	if first[0] != '\'' {
		indent := len(lines[i]) - len(strings.TrimLeft(lines[i], " "))
		val := first
		for i+1 < len(lines) {
			next := lines[i+1]
			if strings.TrimSpace(next) == "" || len(next)-len(strings.TrimLeft(next, " ")) <= indent {
				break
			}
			val += " " + strings.TrimSpace(next)
			i++
		}
		return val, i, nil
	}
	var b strings.Builder
	text := first[1:]
	breaks := 0
	for {
		for j := 0; j < len(text); j++ {
			if text[j] != '\'' {
				b.WriteByte(text[j])
				continue
			}
			if j+1 < len(text) && text[j+1] == '\'' {
				b.WriteByte('\'')
				j++
				continue
			}
			if strings.TrimSpace(text[j+1:]) != "" {
				return "", i, fmt.Errorf("text after closing quote: %q", text[j+1:])
			}
			return b.String(), i, nil
		}
		// Fold: drop trailing blanks here, leading blanks on the next line.
		s := strings.TrimRight(b.String(), " \t")
		b.Reset()
		b.WriteString(s)
		breaks = 0
		for {
			i++
			if i >= len(lines) {
				return "", i, errors.New("unterminated single-quoted scalar")
			}
			if strings.TrimSpace(lines[i]) != "" {
				break
			}
			breaks++
		}
		if breaks == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(strings.Repeat("\n", breaks))
		}
		text = strings.TrimLeft(lines[i], " \t")
	}
}

func TestParseCassetteScalars(t *testing.T) {
	t.Parallel()
	doc := "http_interactions:\n" +
		"- request:\n" +
		"    method: post\n" +
		"    uri: https://api.helpscout.net/v2/x\n" +
		"    body:\n" +
		"      encoding: UTF-8\n" +
		"      string: '{\"a\":\"it''s\n" +
		"        folded\",\n" +
		"\n" +
		"        \"b\":1}'\n" +
		"    headers:\n" +
		"      Accept:\n" +
		"      - '*/*'\n" +
		"      - text/plain\n" +
		"  response:\n" +
		"    status:\n" +
		"      code: 204\n" +
		"      message: ''\n" +
		"    headers:\n" +
		"      Www-Authenticate:\n" +
		"      - Bearer realm=\"service\"\n" +
		"    body:\n" +
		"      encoding: UTF-8\n" +
		"      string: ''\n" +
		"  recorded_at: Sun, 02 Jun 2019 13:47:21 GMT\n" +
		"recorded_with: VCR 5.0.0\n"
	got, err := parseCassette(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []interaction{{
		method: "POST", uri: "https://api.helpscout.net/v2/x",
		reqHeader: http.Header{"Accept": {"*/*", "text/plain"}},
		reqBody:   "{\"a\":\"it's folded\",\n\"b\":1}",
		status:    204, respHeader: http.Header{"Www-Authenticate": {`Bearer realm="service"`}},
	}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(interaction{})); diff != "" {
		t.Errorf("parseCassette mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"- request:\n    body:\n      string: \"double\"\n", "- request:\n    body:\n      string: 'open\n"} {
		if _, err := parseCassette(bad); err == nil {
			t.Errorf("parseCassette(%q) = nil error", bad)
		}
	}
}

func loadCassettes(t *testing.T) map[string][]interaction {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(samplesDir(t), "cassettes", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no cassettes")
	}
	out := map[string][]interaction{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ias, err := parseCassette(string(data))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if len(ias) == 0 {
			t.Fatalf("%s: no interactions", filepath.Base(f))
		}
		out[filepath.Base(f)] = ias
	}
	return out
}

// TestCassetteBodiesMatchExtractedSamples checks the YAML reading against
// the JSON files SOURCES.md says were extracted from these cassettes: each
// taxjar-vcr_*.json must equal some substituted cassette body.
func TestCassetteBodiesMatchExtractedSamples(t *testing.T) {
	t.Parallel()
	dir := samplesDir(t)
	var bodies []any
	for name, ias := range loadCassettes(t) {
		for i, ia := range ias {
			for _, body := range []string{ia.reqBody, ia.respBody} {
				if body == "" {
					continue
				}
				var v any
				if err := json.Unmarshal([]byte(placeholders.Replace(body)), &v); err != nil {
					t.Errorf("%s interaction %d: body is not JSON after substitution: %v", name, i, err)
					continue
				}
				bodies = append(bodies, v)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "taxjar-vcr_*.json"))
	if len(files) == 0 {
		t.Fatal("no taxjar-vcr samples")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		found := false
		for _, b := range bodies {
			if cmp.Equal(want, b) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("%s matches no cassette body", filepath.Base(f))
		}
	}
}

// replayRoute maps a recorded request to the client method that makes it.
type replayRoute struct {
	method, pattern, key string // key: the list's _embedded collection, "" for one object
	call                 func(ctx context.Context, c *Client, ids []int64, q url.Values, reqBody string) (any, *Response, error)
}

var replayRoutes = []replayRoute{
	{"GET", "v2/conversations", keyConversations, func(ctx context.Context, c *Client, _ []int64, q url.Values, _ string) (any, *Response, error) {
		opts := &ConversationListOptions{}
		for k, vs := range q {
			if k != "mailbox" {
				return nil, nil, fmt.Errorf("replay: unmapped conversations parameter %q", k)
			}
			for _, v := range strings.Split(vs[0], ",") {
				id, _ := strconv.ParseInt(v, 10, 64)
				opts.Mailbox = append(opts.Mailbox, id)
			}
		}
		return c.Conversations.List(ctx, opts)
	}},
	{"GET", "v2/conversations/{id}", "", func(ctx context.Context, c *Client, ids []int64, q url.Values, _ string) (any, *Response, error) {
		return c.Conversations.Get(ctx, ids[0], q.Get("embed") == EmbedThreads)
	}},
	{"POST", "v2/conversations/{id}/notes", "", func(ctx context.Context, c *Client, ids []int64, _ url.Values, body string) (any, *Response, error) {
		var note NoteRequest
		if err := json.Unmarshal([]byte(body), &note); err != nil {
			return nil, nil, err
		}
		return c.Conversations.CreateNote(ctx, ids[0], note)
	}},
	{"GET", "v2/conversations/{id}/threads", keyThreads, func(ctx context.Context, c *Client, ids []int64, q url.Values, _ string) (any, *Response, error) {
		page, _ := strconv.Atoi(q.Get("page"))
		return c.Threads.List(ctx, ids[0], page)
	}},
	{"GET", "v2/users", keyUsers, func(ctx context.Context, c *Client, _ []int64, _ url.Values, _ string) (any, *Response, error) {
		return c.Users.List(ctx, nil)
	}},
	{"GET", "v2/users/{id}", "", func(ctx context.Context, c *Client, ids []int64, _ url.Values, _ string) (any, *Response, error) {
		return c.Users.Get(ctx, ids[0])
	}},
	{"GET", "v2/mailboxes", keyMailboxes, func(ctx context.Context, c *Client, _ []int64, _ url.Values, _ string) (any, *Response, error) {
		return c.Mailboxes.List(ctx, 0)
	}},
	{"GET", "v2/mailboxes/{id}", "", func(ctx context.Context, c *Client, ids []int64, _ url.Values, _ string) (any, *Response, error) {
		return c.Mailboxes.Get(ctx, ids[0])
	}},
	{"GET", "v2/mailboxes/{id}/folders", keyFolders, func(ctx context.Context, c *Client, ids []int64, _ url.Values, _ string) (any, *Response, error) {
		return c.Mailboxes.Folders(ctx, ids[0], 0)
	}},
}

func matchRoute(method, path string) (*replayRoute, []int64) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range replayRoutes {
		r := &replayRoutes[i]
		pat := strings.Split(r.pattern, "/")
		if r.method != method || len(pat) != len(segs) {
			continue
		}
		var ids []int64
		ok := true
		for j, p := range pat {
			if p == "{id}" {
				id, err := strconv.ParseInt(segs[j], 10, 64)
				if err != nil {
					ok = false
					break
				}
				ids = append(ids, id)
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return r, ids
		}
	}
	return nil, nil
}

// TestCassetteReplay serves each recorded Help Scout answer to the client
// method that makes the recorded request, and checks both directions: the
// client sends what the recording's SDK sent (method, path, query, JSON
// body) and reads the real answer (ids, page, rate headers, Resource-ID,
// typed errors).
func TestCassetteReplay(t *testing.T) {
	t.Parallel()
	replayed, skipped := 0, map[string]int{}
	for name, ias := range loadCassettes(t) {
		for i, ia := range ias {
			u, err := url.Parse(placeholders.Replace(ia.uri))
			if err != nil {
				t.Fatalf("%s: uri %q: %v", name, ia.uri, err)
			}
			route, ids := matchRoute(ia.method, u.Path)
			if route == nil {
				skipped[ia.method+" "+u.Path]++
				continue
			}
			replayed++
			t.Run(fmt.Sprintf("%s/%d", strings.TrimSuffix(name, ".yml"), i), func(t *testing.T) {
				t.Parallel()
				replayOne(t, ia, u, route, ids)
			})
		}
	}
	if replayed < 15 {
		t.Errorf("only %d interactions replayed", replayed)
	}
	t.Logf("replayed %d; not modelled by this package: %v", replayed, skipped)
}

func replayOne(t *testing.T, ia interaction, u *url.URL, route *replayRoute, ids []int64) {
	c, mux := setup(t)
	respBody := placeholders.Replace(ia.respBody)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, ia.method)
		if got, want := strings.TrimSuffix(r.URL.Path, "/"), strings.TrimSuffix(u.Path, "/"); got != want {
			t.Errorf("path = %s, want %s", got, want)
		}
		testQuery(t, r, u.Query())
		if ia.reqBody != "" {
			testJSONBody(t, r, placeholders.Replace(ia.reqBody))
		}
		for k, vs := range ia.respHeader {
			switch k {
			case "Content-Length", "Transfer-Encoding", "Connection", "Content-Encoding":
				continue
			}
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(ia.status)
		_, _ = io.WriteString(w, respBody)
	})

	got, resp, err := route.call(context.Background(), c, ids, u.Query(), placeholders.Replace(ia.reqBody))
	if ia.status == http.StatusUnauthorized {
		var ae *AuthError
		if !errors.As(err, &ae) || ae.Code == "" {
			t.Fatalf("err = %v, want *AuthError with an OAuth code", err)
		}
		return
	}
	if ia.status < 200 || ia.status > 299 {
		t.Fatalf("no expectation for recorded status %d", ia.status)
	}
	if err != nil {
		t.Fatalf("call: %v", err)
	}

	h := ia.respHeader
	wantRate := Rate{Limit: atoi(h.Get("X-Ratelimit-Limit-Minute")), Remaining: atoi(h.Get("X-Ratelimit-Remaining-Minute"))}
	if diff := cmp.Diff(wantRate, resp.Rate); diff != "" {
		t.Errorf("Rate mismatch (-want +got):\n%s", diff)
	}
	if got, want := resp.CorrelationID, h.Get("Correlation-Id"); got != want {
		t.Errorf("CorrelationID = %q, want %q", got, want)
	}
	if ia.status == http.StatusCreated {
		want, _ := strconv.ParseInt(h.Get("Resource-Id"), 10, 64)
		if got != want {
			t.Errorf("created id = %v, want %d (Resource-Id %q)", got, want, h.Get("Resource-Id"))
		}
		return
	}

	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(respBody), &doc); err != nil {
		t.Fatal(err)
	}
	var wantIDs []int64
	if route.key == "" {
		wantIDs = jsonIDs(t, "["+string(doc["id"])+"]")
	} else {
		var emb map[string]json.RawMessage
		_ = json.Unmarshal(doc["_embedded"], &emb)
		var items []struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(emb[route.key], &items)
		for _, it := range items {
			wantIDs = append(wantIDs, jsonIDs(t, "["+string(it.ID)+"]")...)
		}
		var wantPage PageInfo
		if err := json.Unmarshal(doc["page"], &wantPage); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantPage, resp.Page); diff != "" {
			t.Errorf("Page mismatch (-want +got):\n%s", diff)
		}
	}
	if diff := cmp.Diff(wantIDs, idsOf(got), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ids mismatch (-want +got):\n%s", diff)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func jsonIDs(t *testing.T, list string) []int64 {
	t.Helper()
	var ids []int64
	if err := json.Unmarshal([]byte(list), &ids); err != nil {
		t.Fatalf("ids %s: %v", list, err)
	}
	return ids
}

// idsOf collects the ID field of a decoded object, or of each element of a
// decoded list.
func idsOf(v any) []int64 {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		return []int64{rv.Elem().FieldByName("ID").Int()}
	}
	var out []int64
	for i := range rv.Len() {
		out = append(out, rv.Index(i).FieldByName("ID").Int())
	}
	return out
}
