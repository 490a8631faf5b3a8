package helpscout

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSignAndValidate(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":123}`)
	const good = "7S2+kN8bZsrdAEADJ+yYfWWsf/4="
	if got := Sign("asdfasdf", body); got != good {
		t.Fatalf("Sign = %q, want %q (helpscout-api.md 9.4 vector)", got, good)
	}
	tests := []struct {
		name, secret, header string
		body                 []byte
		want                 bool
	}{
		{"valid", "asdfasdf", good, body, true},
		{"surrounding whitespace", "asdfasdf", "\n " + good + "\t\r\n", body, true},
		{"empty secret never validates", "", Sign("", body), body, false},
		{"empty header", "asdfasdf", "", body, false},
		{"whitespace header", "asdfasdf", " \n", body, false},
		{"wrong secret", "asdfasdg", good, body, false},
		{"body re-encoded with a space", "asdfasdf", good, []byte(`{"id": 123}`), false},
		{"trailing newline in body", "asdfasdf", good, append(append([]byte{}, body...), '\n'), false},
		{"hex instead of base64", "asdfasdf", "ed2dbe90df1b66cadd004003", body, false},
		{"truncated signature", "asdfasdf", good[:len(good)-1], body, false},
		{"inner whitespace", "asdfasdf", good[:5] + " " + good[5:], body, false},
		{"lowercased", "asdfasdf", "7s2+kn8bzsrdaeadj+yyfwwsf/4=", body, false},
		{"empty body signed", "k", Sign("k", nil), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateSignature(tt.secret, tt.body, tt.header); got != tt.want {
				t.Errorf("ValidateSignature(%q, %q, %q) = %v, want %v", tt.secret, tt.body, tt.header, got, tt.want)
			}
		})
	}
}

func TestParseWebhook(t *testing.T) {
	t.Parallel()
	convBody := []byte(`{"id":2201934001,"number":48211,"status":"active","mailboxId":85,"assignee":{"id":256,"type":"user"},"createdAt":"2026-03-02T09:14:05Z"}`)
	tests := []struct {
		name     string
		event    string
		body     []byte
		wantKind WebhookKind
		wantName string
		wantID   int64
		wantErr  error
	}{
		{name: "agent reply", event: EventConvoAgentReplyCreated, body: convBody, wantKind: WebhookConversation, wantName: "convo.agent.reply.created", wantID: 2201934001},
		{name: "assigned, header padded and cased", event: " Convo.Assigned\n", body: convBody, wantKind: WebhookConversation, wantName: "convo.assigned", wantID: 2201934001},
		{name: "unknown convo event is a conversation", event: "convo.ai-answers.created", body: convBody, wantKind: WebhookConversation, wantName: "convo.ai-answers.created", wantID: 2201934001},
		{name: "deleted", event: EventConvoDeleted, body: []byte(`{"id":123}`), wantKind: WebhookConversationDeleted, wantName: "convo.deleted", wantID: 123},
		{name: "test event, empty body", event: EventTest, body: nil, wantKind: WebhookTest, wantName: "helpscout.test"},
		{name: "test event, odd body", event: EventTest, body: []byte("ping"), wantKind: WebhookTest, wantName: "helpscout.test"},
		{name: "customer event", event: EventCustomerCreated, body: []byte(`{"id":5,"firstName":"Jackie"}`), wantKind: WebhookOther, wantName: "customer.created"},
		{name: "unknown event", event: "user.status.changed", body: []byte(`{}`), wantKind: WebhookOther, wantName: "user.status.changed"},
		{name: "malformed conversation", event: EventConvoCreated, body: []byte(`{"id":1,`), wantErr: ErrMalformedPayload},
		{name: "conversation of wrong shape", event: EventConvoStatus, body: []byte(`{"id":"one"}`), wantErr: ErrMalformedPayload},
		{name: "conversation without id", event: EventConvoTags, body: []byte(`{"status":"active"}`), wantErr: ErrMalformedPayload},
		{name: "null conversation", event: EventConvoMoved, body: []byte(`null`), wantErr: ErrMalformedPayload},
		{name: "deleted without id", event: EventConvoDeleted, body: []byte(`{}`), wantErr: ErrMalformedPayload},
		{name: "deleted not json", event: EventConvoDeleted, body: []byte(`id=1`), wantErr: ErrMalformedPayload},
		{name: "other event not json", event: EventTagCreated, body: []byte(`<xml/>`), wantErr: ErrMalformedPayload},
		{name: "no event", event: "  ", body: convBody, wantErr: ErrMissingEvent},
		// Issue 17, row 13: implausible values are refused at the edge.
		{name: "created in year 9999", event: EventConvoTags, body: []byte(`{"id":1,"createdAt":"9999-12-31T23:59:59Z"}`), wantErr: ErrMalformedPayload},
		{name: "waiting since year 1", event: EventConvoTags, body: []byte(`{"id":1,"customerWaitingSince":{"time":"0001-01-01T00:00:01Z"}}`), wantErr: ErrMalformedPayload},
		{name: "closed in 1999", event: EventConvoStatus, body: []byte(`{"id":1,"closedAt":"1999-12-31T23:59:59Z"}`), wantErr: ErrMalformedPayload},
		{name: "updated in 2101", event: EventConvoStatus, body: []byte(`{"id":1,"userUpdatedAt":"2101-01-01T00:00:00Z"}`), wantErr: ErrMalformedPayload},
		{name: "a thread from year 9999", event: EventConvoCustomerReplyCreated, body: []byte(`{"id":1,"_embedded":{"threads":[{"id":2,"createdAt":"9999-01-01T00:00:00Z"}]}}`), wantErr: ErrMalformedPayload},
		{name: "a negative thread count", event: EventConvoTags, body: []byte(`{"id":1,"threads":-3}`), wantErr: ErrMalformedPayload},
		{name: "a negative number", event: EventConvoTags, body: []byte(`{"id":1,"number":-48211}`), wantErr: ErrMalformedPayload},
		{name: "a negative assignee", event: EventConvoAssigned, body: []byte(`{"id":1,"assignee":{"id":-256}}`), wantErr: ErrMalformedPayload},
		{name: "the first and last plausible dates", event: EventConvoTags, body: []byte(`{"id":1,"createdAt":"2000-01-01T00:00:00Z","userUpdatedAt":"2100-12-31T23:59:59Z"}`), wantKind: WebhookConversation, wantName: "convo.tags", wantID: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseWebhook(tt.event, tt.body)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseWebhook error = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			if ev.Kind != tt.wantKind || ev.Name != tt.wantName || ev.ConversationID() != tt.wantID {
				t.Errorf("ParseWebhook = kind %v name %q id %d, want %v %q %d", ev.Kind, ev.Name, ev.ConversationID(), tt.wantKind, tt.wantName, tt.wantID)
			}
			if (ev.Conversation != nil) != (tt.wantKind == WebhookConversation) {
				t.Errorf("Conversation set = %v for kind %v", ev.Conversation != nil, ev.Kind)
			}
		})
	}
}

func TestParseWebhookConversation(t *testing.T) {
	t.Parallel()
	ev, err := ParseWebhook(EventConvoAgentReplyCreated, []byte(conversationJSON))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantConversation(t), *ev.Conversation); diff != "" {
		t.Errorf("conversation mismatch (-want +got):\n%s", diff)
	}
}

func TestWebhookKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[WebhookKind]string{
		WebhookOther: "other", WebhookConversation: "conversation", WebhookConversationDeleted: "conversation_deleted", WebhookTest: "test",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}

// TestEventsListsEveryConstant reads webhook.go's Event constants, so that
// a new event cannot be declared without joining the one list httpapi and
// the mirror take their events from.
func TestEventsListsEveryConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "webhook.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if strings.HasPrefix(name.Name, "Event") {
						v, err := strconv.Unquote(vs.Values[i].(*ast.BasicLit).Value)
						if err != nil {
							t.Fatalf("%s: %v", name.Name, err)
						}
						declared = append(declared, v)
					}
				}
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no Event constants in webhook.go; has the file moved?")
	}
	if d := cmp.Diff(Events(), declared); d != "" {
		t.Errorf("Events() against webhook.go's Event constants, in order (-Events +constants):\n%s", d)
	}
	for _, e := range declared {
		if !KnownEvent(e) {
			t.Errorf("KnownEvent(%q) = false", e)
		}
	}
	for _, name := range []string{"", "other", "CONVO.ASSIGNED", " convo.assigned"} {
		if KnownEvent(name) {
			t.Errorf("KnownEvent(%q) = true", name)
		}
	}
}
