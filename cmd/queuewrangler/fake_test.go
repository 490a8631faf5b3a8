package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestFakeHelpScoutCommand runs `fake-helpscout` as an operator would and
// asks it what the issue asks with curl: a token, then page 2 of all
// conversations with threads.
func TestFakeHelpScoutCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"fake-helpscout", "--addr", "127.0.0.1:0", "--conversations", "500"}, pw, io.Discard)
		pw.Close()
	}()
	buf := make([]byte, 4096)
	n, _ := io.ReadAtLeast(pr, buf, 40)
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`serving at (http://\S+)`).FindSubmatch(buf[:n])
	if m == nil {
		t.Fatalf("no URL in %q", buf[:n])
	}
	base := string(m[1])

	resp, err := http.PostForm(base+"/v2/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"demo-secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" || tok.ExpiresIn <= 0 {
		t.Fatalf("token response: %v %+v", err, tok)
	}
	resp.Body.Close()

	req, _ := http.NewRequest("GET", base+"/v2/conversations?status=all&embed=threads&page=2", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Embedded struct {
			Conversations []map[string]json.RawMessage `json:"conversations"`
		} `json:"_embedded"`
		Page struct{ Size, TotalElements, TotalPages, Number int } `json:"page"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if page.Page.Number != 2 || page.Page.TotalElements != 500 || page.Page.TotalPages != 20 || len(page.Embedded.Conversations) != 25 {
		t.Errorf("page = %+v with %d conversations, want page 2 of 20, 25 of 500", page.Page, len(page.Embedded.Conversations))
	}
	for _, c := range page.Embedded.Conversations {
		var keys []string
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, want := range []string{"id", "number", "threads", "status", "state", "mailboxId", "createdAt", "closedBy", "customerWaitingSince", "primaryCustomer", "_embedded", "_links"} {
			if _, ok := c[want]; !ok {
				t.Errorf("conversation lacks key %q (has %s)", want, strings.Join(keys, ","))
			}
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Error("fake-helpscout did not stop")
	}
}
