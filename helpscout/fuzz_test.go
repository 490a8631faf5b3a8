package helpscout

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// More seeds live in testdata/fuzz/<FuzzName>/.

func FuzzValidateSignature(f *testing.F) {
	f.Add("asdfasdf", []byte(`{"id":123}`), "7S2+kN8bZsrdAEADJ+yYfWWsf/4=")
	f.Add("", []byte(`{"id":123}`), "")
	f.Fuzz(func(t *testing.T, secret string, body []byte, header string) {
		got := ValidateSignature(secret, body, header)
		if secret == "" && got {
			t.Fatal("validated with an empty secret")
		}
		sig := Sign(secret, body)
		if got && strings.TrimSpace(header) != sig {
			t.Fatalf("accepted %q, the signature is %q", header, sig)
		}
		if ok := ValidateSignature(secret, body, " \t"+sig+"\r\n"); ok != (secret != "") {
			t.Fatalf("own signature (padded) validated = %v with secret %q", ok, secret)
		}
		if ValidateSignature(secret, append(append([]byte{}, body...), 'x'), sig) {
			t.Fatal("signature of the body validated a longer body")
		}
	})
}

func FuzzParseWebhook(f *testing.F) {
	f.Add(EventConvoAgentReplyCreated, []byte(`{"id":7,"status":"active","assignee":{"id":1,"type":"user"},"createdAt":"2026-03-02T09:14:05Z"}`))
	f.Add(EventConvoDeleted, []byte(`{"id":123}`))
	f.Add(EventTest, []byte(``))
	f.Fuzz(func(t *testing.T, event string, body []byte) {
		ev, err := ParseWebhook(event, body)
		if err != nil {
			if !errors.Is(err, ErrMalformedPayload) && !errors.Is(err, ErrMissingEvent) {
				t.Fatalf("error %v is neither ErrMalformedPayload nor ErrMissingEvent", err)
			}
			return
		}
		if ev.Name == "" || ev.Name != strings.ToLower(strings.TrimSpace(event)) {
			t.Fatalf("Name = %q for event %q", ev.Name, event)
		}
		switch ev.Kind {
		case WebhookConversation:
			if ev.Conversation == nil || ev.Conversation.ID <= 0 {
				t.Fatalf("conversation event without a conversation: %+v", ev)
			}
			again, err := json.Marshal(ev.Conversation)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			ev2, err := ParseWebhook(event, again)
			if err != nil {
				t.Fatalf("re-encoded conversation rejected: %v\n%s", err, again)
			}
			if diff := cmp.Diff(ev.Conversation, ev2.Conversation, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
			}
		case WebhookConversationDeleted:
			if ev.DeletedID <= 0 || ev.Conversation != nil {
				t.Fatalf("deleted event = %+v", ev)
			}
		case WebhookTest, WebhookOther:
			if ev.Conversation != nil || ev.DeletedID != 0 {
				t.Fatalf("%v event carries a conversation: %+v", ev.Kind, ev)
			}
		default:
			t.Fatalf("unknown kind %v", ev.Kind)
		}
	})
}

// conversationPage is the wire form of a conversation list page, used to
// re-encode what was decoded.
type conversationPage struct {
	Embedded struct {
		Conversations []Conversation `json:"conversations"`
	} `json:"_embedded"`
	Page PageInfo `json:"page"`
}

func FuzzDecodeConversationPage(f *testing.F) {
	f.Add([]byte(halList("conversations", []string{`{"id":7,"createdAt":"2026-03-02T09:14:05Z","_embedded":{"threads":[{"id":1,"type":"note"}]}}`},
		PageInfo{Size: 25, TotalElements: 1, TotalPages: 1, Number: 1})))
	f.Add([]byte(`{"page":{"size":25,"totalElements":0,"totalPages":0,"number":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		convs, page, err := decodePage[Conversation](data, keyConversations)
		if err != nil {
			return
		}
		var p conversationPage
		p.Embedded.Conversations, p.Page = convs, page
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		convs2, page2, err := decodePage[Conversation](again, keyConversations)
		if err != nil {
			t.Fatalf("re-encoded page rejected: %v\n%s", err, again)
		}
		if diff := cmp.Diff(convs, convs2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("conversations round trip mismatch (-first +second):\n%s", diff)
		}
		if page != page2 {
			t.Fatalf("page round trip: %+v then %+v", page, page2)
		}
	})
}
