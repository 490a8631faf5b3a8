package helpscout

import (
	"encoding/json"
	"testing"
)

func TestThreadKind(t *testing.T) {
	t.Parallel()
	user := Person{ID: 1, Type: PersonUser}
	customer := Person{ID: 2, Type: PersonCustomer}
	tests := []struct {
		name   string
		thread Thread
		want   ThreadKind
	}{
		{"customer email", Thread{Type: "customer", State: "published", CreatedBy: customer}, ThreadCustomerMessage},
		{"customer thread logged by an agent", Thread{Type: "customer", State: "published", CreatedBy: user}, ThreadCustomerMessage},
		{"customer chat", Thread{Type: "chat", State: "published", CreatedBy: customer}, ThreadCustomerMessage},
		{"customer phone", Thread{Type: "phone", State: "published", CreatedBy: customer}, ThreadCustomerMessage},
		{"beacon chat by customer", Thread{Type: "beaconchat", State: "published", CreatedBy: customer}, ThreadCustomerMessage},
		{"agent reply", Thread{Type: "message", State: "published", CreatedBy: user}, ThreadAgentReply},
		{"agent chat reply", Thread{Type: "chat", State: "published", CreatedBy: user}, ThreadAgentReply},
		{"agent phone log", Thread{Type: "phone", State: "published", CreatedBy: user}, ThreadAgentReply},
		{"draft reply", Thread{Type: "message", State: "draft", CreatedBy: user}, ThreadDraft},
		{"draft note", Thread{Type: "note", State: "draft", CreatedBy: user}, ThreadDraft},
		{"hidden reply", Thread{Type: "message", State: "hidden", CreatedBy: user}, ThreadOther},
		{"reply held for review", Thread{Type: "message", State: "review", CreatedBy: user}, ThreadOther},
		{"reply without state", Thread{Type: "message", CreatedBy: user}, ThreadOther},
		{"v3 AI reply", Thread{Type: "message", State: "published", CreatedBy: Person{ID: 3, Type: PersonSystemUser}}, ThreadOther},
		{"message by a customer", Thread{Type: "message", State: "published", CreatedBy: customer}, ThreadOther},
		{"note", Thread{Type: "note", State: "published", CreatedBy: user}, ThreadNote},
		{"line item", Thread{Type: "lineitem", State: "published", CreatedBy: user}, ThreadLineItem},
		{"forward", Thread{Type: "forwardparent", State: "published", CreatedBy: user}, ThreadOther},
		{"beacon chat by user", Thread{Type: "beaconchat", State: "published", CreatedBy: user}, ThreadOther},
		{"unknown type", Thread{Type: "telepathy", State: "published", CreatedBy: user}, ThreadOther},
		{"zero", Thread{}, ThreadOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.thread.Kind(); got != tt.want {
				t.Errorf("Kind() = %v, want %v", got, tt.want)
			}
			if got, want := tt.thread.IsAgentReply(), tt.want == ThreadAgentReply; got != want {
				t.Errorf("IsAgentReply() = %v, want %v", got, want)
			}
			if got, want := tt.thread.IsCustomerMessage(), tt.want == ThreadCustomerMessage; got != want {
				t.Errorf("IsCustomerMessage() = %v, want %v", got, want)
			}
		})
	}
}

func TestThreadIsAgentWork(t *testing.T) {
	t.Parallel()
	user := Person{ID: 1, Type: PersonUser}
	for _, tt := range []struct {
		thread Thread
		want   bool
	}{
		{Thread{Type: "message", State: "published", CreatedBy: user}, true},
		{Thread{Type: "note", State: "published", CreatedBy: user}, true},
		{Thread{Type: "chat", State: "published", CreatedBy: user}, true},
		{Thread{Type: "phone", State: "published", CreatedBy: user}, true},
		{Thread{Type: "beaconchat", State: "published", CreatedBy: user}, true},
		{Thread{Type: "forwardparent", State: "published", CreatedBy: user}, true},
		{Thread{Type: "message", State: "review", CreatedBy: user}, true}, // written, held for review
		{Thread{Type: "message", State: "draft", CreatedBy: user}, false},
		{Thread{Type: "lineitem", State: "published", CreatedBy: user}, false},
		{Thread{Type: "customer", State: "published", CreatedBy: user}, false},
		{Thread{Type: "chat", State: "published", CreatedBy: Person{ID: 2, Type: PersonCustomer}}, false},
		{Thread{}, false},
	} {
		if got := tt.thread.IsAgentWork(); got != tt.want {
			t.Errorf("%s/%s by %s: IsAgentWork() = %v, want %v", tt.thread.Type, tt.thread.State, tt.thread.CreatedBy.Type, got, tt.want)
		}
	}
}

// The docs example conversation (section 13.1): first response is the
// reply at 10:02:41 to the customer's 09:14:05 message, 2916 s.
func TestThreadKindDocsExample(t *testing.T) {
	t.Parallel()
	var c Conversation
	if err := json.Unmarshal([]byte(conversationJSON), &c); err != nil {
		t.Fatal(err)
	}
	var first, reply Time
	for _, th := range c.Threads() {
		switch th.Kind() {
		case ThreadCustomerMessage:
			first = th.CreatedAt
		case ThreadAgentReply:
			reply = th.CreatedAt
		}
	}
	if got := reply.Sub(first.Time).Seconds(); got != 2916 {
		t.Errorf("first response = %vs, want 2916s", got)
	}
}

func TestThreadKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[ThreadKind]string{
		ThreadOther: "other", ThreadCustomerMessage: "customer_message", ThreadAgentReply: "agent_reply",
		ThreadNote: "note", ThreadLineItem: "line_item", ThreadDraft: "draft", ThreadKind(42): "ThreadKind(42)", ThreadKind(-1): "ThreadKind(-1)",
	} {
		if got := k.String(); got != want {
			t.Errorf("ThreadKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

func TestEntityIDs(t *testing.T) {
	t.Parallel()
	var a Action
	in := `{"type":"merged","associatedEntities":{"user":4,"originalConversation":"2201934001","workflow":null,"odd":{"x":1},` +
		`"neg":-2,"zero":0,"empty":"","no":false,"list":[],"half":0.5,"word":"wf-1"}}`
	if err := json.Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	// Numbers, and strings holding them, are kept as written; every other
	// value names no id and is dropped: kept as 0 ("named"), a workflow
	// entity of false or {} read as a workflow's.
	want := EntityIDs{"user": 4, "originalConversation": 2201934001, "neg": -2, "zero": 0}
	if len(a.AssociatedEntities) != len(want) {
		t.Fatalf("AssociatedEntities = %v, want %v", a.AssociatedEntities, want)
	}
	for k, v := range want {
		if a.AssociatedEntities[k] != v {
			t.Errorf("AssociatedEntities[%q] = %d, want %d", k, a.AssociatedEntities[k], v)
		}
	}
	if err := json.Unmarshal([]byte(`{"associatedEntities":[1]}`), &a); err == nil {
		t.Error("a list for associatedEntities decoded without error")
	}
}
