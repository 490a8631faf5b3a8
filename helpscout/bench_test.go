package helpscout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// linked is a conversation with the per-item _links the API sends, so the
// benchmark decoder skips what it would skip in production.
type linked struct {
	Conversation
	Links map[string]map[string]string `json:"_links"`
}

const paragraph = "<p>Thanks for getting in touch. I've looked at invoice INV-20931 and the VAT line is " +
	"calculated from the billing country on file, which is still set to Germany. Once you update it under " +
	"Settings &rarr; Billing the next invoice will be correct, and I've asked our finance team to reissue this one.</p>"

// benchConversation builds conversation i of a realistic mailbox: a
// customer message, replies, a note and a line item, 4 to 6 threads.
func benchConversation(i int, withThreads bool) linked {
	id := int64(2_200_000_000 + i)
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7 * time.Minute)
	agent := Person{ID: int64(256 + i%7), Type: PersonUser, First: "Agent", Last: strconv.Itoa(i % 7), Email: fmt.Sprintf("agent%d@acme.io", i%7)}
	cust := Person{ID: int64(9_000_000_000 + i), Type: PersonCustomer, First: "Customer", Last: strconv.Itoa(i), Email: fmt.Sprintf("c%d@example.com", i)}
	c := Conversation{
		ID: id, Number: int64(48000 + i), ThreadCount: 4 + i%3, Type: "email", FolderID: 7712, Status: StatusActive,
		State: "published", Subject: fmt.Sprintf("Invoice %d shows the wrong VAT rate", i), Preview: paragraph[:180],
		MailboxID: 85, Assignee: agent, CreatedBy: Person{ID: cust.ID, Type: PersonCustomer, Email: cust.Email},
		CreatedAt: Time{start}, UserUpdatedAt: Time{start.Add(40 * time.Minute)},
		CustomerWaitingSince: CustomerWaitingSince{Time: Time{start.Add(40 * time.Minute)}, Friendly: "12 min ago"},
		Source:               Source{Type: "email", Via: "customer"},
		Tags:                 []Tag{{ID: 9150, Color: "#929499", Name: "billing"}, {ID: 9151, Color: "#E52F28", Name: "vip"}},
		CC:                   []string{"finance@example.com"}, PrimaryCustomer: cust,
		CustomFields: []CustomField{{ID: 8, Name: "Plan", Value: "8518", Text: "Pro"}, {ID: 9, Name: "Region", Value: "22", Text: "EU"}},
	}
	if withThreads {
		n := 4 + i%3
		threads := make([]Thread, 0, n)
		for k := range n {
			th := Thread{
				ID: id*10 + int64(k), Status: "nochange", State: ThreadStatePublished,
				Action: Action{Type: "default"}, Customer: cust, AssignedTo: agent,
				CreatedAt: Time{start.Add(time.Duration(n-k) * 9 * time.Minute)},
			}
			switch k % 4 {
			case 0:
				th.Type, th.CreatedBy, th.Body, th.Source = ThreadTypeMessage, agent, strings.Repeat(paragraph, 2), Source{Type: "email", Via: "user"}
				th.To = []string{cust.Email}
			case 1:
				th.Type, th.CreatedBy, th.Body, th.Source = ThreadTypeNote, agent, paragraph, Source{Type: "web", Via: "user"}
			case 2:
				th.Type, th.CreatedBy, th.Source = ThreadTypeLineItem, agent, Source{Type: "api", Via: "user"}
				th.Action = Action{Type: "assigned", Text: "Ops Bot assigned to Agent", AssociatedEntities: EntityIDs{"user": 4}}
			case 3:
				th.Type, th.CreatedBy, th.Body, th.Source = ThreadTypeCustomer, cust, strings.Repeat(paragraph, 3), Source{Type: "email", Via: "customer"}
				th.To = []string{"support@acme.io"}
			}
			threads = append(threads, th)
		}
		c.Embedded.Threads = threads
	}
	base := "https://api.helpscout.net/v2/"
	return linked{Conversation: c, Links: map[string]map[string]string{
		"self":    {"href": base + "conversations/" + strconv.FormatInt(id, 10)},
		"mailbox": {"href": base + "mailboxes/85"},
		"threads": {"href": base + "conversations/" + strconv.FormatInt(id, 10) + "/threads"},
		"web":     {"href": c.WebURL()},
	}}
}

func benchPage(b *testing.B, first, n int, withThreads bool, page PageInfo) []byte {
	b.Helper()
	convs := make([]linked, n)
	for i := range convs {
		convs[i] = benchConversation(first+i, withThreads)
	}
	var p struct {
		Embedded struct {
			Conversations []linked `json:"conversations"`
		} `json:"_embedded"`
		Links map[string]map[string]string `json:"_links"`
		Page  PageInfo                     `json:"page"`
	}
	p.Embedded.Conversations, p.Page = convs, page
	p.Links = map[string]map[string]string{"self": {"href": "https://api.helpscout.net/v2/conversations?page=" + strconv.Itoa(page.Number)}}
	// Help Scout sends HTML bodies with < and > as they are, not \u003c.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkDecodeConversationPage decodes one full page (25 conversations,
// 4-6 threads each) as a sync with embed=threads receives it.
func BenchmarkDecodeConversationPage(b *testing.B) {
	data := benchPage(b, 0, 25, true, PageInfo{Size: 25, TotalElements: 10000, TotalPages: 400, Number: 1})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	threads := 0
	for b.Loop() {
		convs, _, err := decodePage[Conversation](data, keyConversations)
		if err != nil || len(convs) != 25 {
			b.Fatalf("decode: %d conversations, %v", len(convs), err)
		}
		threads = 0
		for _, c := range convs {
			threads += len(c.Threads())
		}
	}
	b.ReportMetric(float64(threads), "threads/page")
}

// BenchmarkWalkConversations walks 10,000 conversations served in pages of
// 25 and reports the requests one walk makes, which must be 400.
func BenchmarkWalkConversations(b *testing.B) {
	const total, size = 10000, 25
	pages := make([][]byte, total/size)
	var bytesPerWalk int64
	for i := range pages {
		pages[i] = benchPage(b, i*size, size, false, PageInfo{Size: size, TotalElements: total, TotalPages: len(pages), Number: i + 1})
		bytesPerWalk += int64(len(pages[i]))
	}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		n := 1
		if s := r.URL.Query().Get("page"); s != "" {
			n, _ = strconv.Atoi(s)
		}
		if n < 1 || n > len(pages) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/hal+json")
		_, _ = w.Write(pages[n-1])
	}))
	defer srv.Close()
	c, err := NewClient(srv.Client()).WithBaseURL(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(bytesPerWalk)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, err := range c.Conversations.All(ctx, &ConversationListOptions{Status: StatusAll, SortField: SortModifiedAt, SortOrder: SortAsc}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != total {
			b.Fatalf("walked %d conversations, want %d", n, total)
		}
	}
	b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/walk")
}
