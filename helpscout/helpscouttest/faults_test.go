package helpscouttest_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

func TestRateLimit(t *testing.T) {
	t.Run("reads cost 1", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{RateLimitPerMinute: 5})
		for i := 4; i >= 0; i-- {
			r := f.do(t, "GET", "/v2/mailboxes", "")
			if r.code != 200 {
				t.Fatalf("request %d: code %d", 5-i, r.code)
			}
			if got, want := r.header.Get("X-RateLimit-Remaining-Minute"), fmt.Sprint(i); got != want {
				t.Errorf("remaining = %s, want %s", got, want)
			}
			if got := r.header.Get("X-RateLimit-Limit-Minute"); got != "5" {
				t.Errorf("limit = %s, want 5", got)
			}
		}
		f.wall.Advance(45 * time.Second)
		r := f.do(t, "GET", "/v2/mailboxes", "")
		if r.code != http.StatusTooManyRequests {
			t.Fatalf("6th request: code %d, want 429", r.code)
		}
		if diff := cmp.Diff(r.json(t), map[string]any{"message": "API rate limit exceeded"}); diff != "" {
			t.Errorf("429 body (-got +want):\n%s", diff)
		}
		want := map[string]string{"X-Ratelimit-Retry-After": "15", "X-Ratelimit-Remaining-Minute": "0", "X-Ratelimit-Limit-Minute": "5"}
		for h, v := range want {
			if got := r.header.Get(h); got != v {
				t.Errorf("%s = %q, want %q", h, got, v)
			}
		}
		if r.header.Get("Correlation-Id") == "" {
			t.Error("no Correlation-Id on the 429")
		}
		if got := f.srv.Stats().RateLimitViolations; got != 1 {
			t.Errorf("violations = %d, want 1", got)
		}
		f.wall.Advance(15 * time.Second) // next fixed window
		r = f.do(t, "GET", "/v2/mailboxes", "")
		if r.code != 200 || r.header.Get("X-RateLimit-Remaining-Minute") != "4" {
			t.Errorf("new window: code %d remaining %s", r.code, r.header.Get("X-RateLimit-Remaining-Minute"))
		}
	})
	t.Run("writes cost 2", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{RateLimitPerMinute: 5})
		c := f.conv(t, helpscouttest.NewConversation{})
		patch := func() response {
			return f.do(t, "PATCH", fmt.Sprintf("/v2/conversations/%d", c.ID), `{"op":"replace","path":"/subject","value":"s"}`)
		}
		var got []string
		for _, r := range []response{patch(), patch(), patch(), f.do(t, "GET", "/v2/mailboxes", "")} {
			got = append(got, fmt.Sprintf("%d/%s", r.code, r.header.Get("X-RateLimit-Remaining-Minute")))
		}
		want := []string{"204/3", "204/1", "429/1", "200/0"}
		if !slices.Equal(got, want) {
			t.Errorf("code/remaining = %v, want %v", got, want)
		}
		if got := f.srv.Stats().RateLimitViolations; got != 1 {
			t.Errorf("violations = %d, want 1", got)
		}
	})
	t.Run("errors carry the headers, the token endpoint costs nothing", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{RateLimitPerMinute: 10})
		for _, path := range []string{"/v2/nothing", "/v2/conversations?status=bad"} {
			if r := f.do(t, "GET", path, ""); r.header.Get("X-RateLimit-Remaining-Minute") == "" {
				t.Errorf("%s: no rate headers on %d", path, r.code)
			}
		}
		f.token2(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"demo-secret"}})
		if got := f.srv.RateLimitRemaining(); got != 8 {
			t.Errorf("remaining = %d, want 8", got)
		}
	})
	t.Run("another integration's spending shows in the headers", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{RateLimitPerMinute: 10})
		f.srv.SpendRateBudget(6)
		if r := f.do(t, "GET", "/v2/mailboxes", ""); r.code != 200 || r.header.Get("X-RateLimit-Remaining-Minute") != "3" {
			t.Errorf("after another integration spent 6 of 10: code %d remaining %s, want 200 and 3", r.code, r.header.Get("X-RateLimit-Remaining-Minute"))
		}
		f.srv.SpendRateBudget(100)
		if got := f.srv.RateLimitRemaining(); got != 0 {
			t.Errorf("remaining after spending more than was left = %d, want 0", got)
		}
		f.wall.Advance(time.Minute)
		if got := f.srv.RateLimitRemaining(); got != 10 {
			t.Errorf("remaining in the next minute = %d, want 10", got)
		}
	})
	t.Run("no limit, no headers", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		if r := f.do(t, "GET", "/v2/mailboxes", ""); r.header.Get("X-RateLimit-Limit-Minute") != "" {
			t.Errorf("rate header without a limit")
		}
	})
}

func TestFaults(t *testing.T) {
	t.Run("fail next", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		f.srv.SetFaults(helpscouttest.Faults{FailNext: 2})
		// The token endpoint is not subject to faults.
		if r := f.token2(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"demo-secret"}}); r.code != 200 {
			t.Fatalf("token: %d", r.code)
		}
		var got []int
		for range 3 {
			r := f.do(t, "GET", "/v2/mailboxes", "")
			got = append(got, r.code)
			if r.code == 503 {
				if m := r.json(t); m["logRef"] == nil || m["message"] != "Service Unavailable" {
					t.Errorf("5xx body = %s", r.body)
				}
			}
		}
		if want := []int{503, 503, 200}; !slices.Equal(got, want) {
			t.Errorf("codes = %v, want %v", got, want)
		}
		if got := f.srv.Stats().InjectedErrors; got != 2 {
			t.Errorf("InjectedErrors = %d, want 2", got)
		}
	})
	t.Run("error probability is seeded", func(t *testing.T) {
		run := func() []int {
			f := setup(t, helpscouttest.Options{Seed: 42})
			f.srv.SetFaults(helpscouttest.Faults{ErrorProbability: 0.5})
			var codes []int
			for range 20 {
				codes = append(codes, f.do(t, "GET", "/v2/mailboxes", "").code)
			}
			return codes
		}
		a, b := run(), run()
		if !slices.Equal(a, b) {
			t.Errorf("same seed, different faults:\n%v\n%v", a, b)
		}
		if !slices.Contains(a, 200) || !slices.ContainsFunc(a, func(c int) bool { return c >= 500 }) {
			t.Errorf("p=0.5 over 20 requests gave %v", a)
		}
	})
	t.Run("429 storm", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		f.srv.SetFaults(helpscouttest.Faults{StormFor: 30 * time.Second})
		r := f.do(t, "GET", "/v2/mailboxes", "")
		if r.code != 429 || r.header.Get("X-RateLimit-Retry-After") != "30" {
			t.Errorf("code %d retry-after %q, want 429 and 30", r.code, r.header.Get("X-RateLimit-Retry-After"))
		}
		f.wall.Advance(20 * time.Second)
		if r := f.do(t, "PATCH", "/v2/conversations/1", `{}`); r.code != 429 || r.header.Get("X-RateLimit-Retry-After") != "10" {
			t.Errorf("code %d retry-after %q, want 429 and 10", r.code, r.header.Get("X-RateLimit-Retry-After"))
		}
		f.wall.Advance(10 * time.Second)
		if got := f.do(t, "GET", "/v2/mailboxes", "").code; got != 200 {
			t.Errorf("after the storm: %d", got)
		}
		st := f.srv.Stats()
		if st.StormRejections != 2 || st.RateLimitViolations != 0 {
			t.Errorf("storm rejections %d violations %d, want 2 and 0", st.StormRejections, st.RateLimitViolations)
		}
	})
	t.Run("delay", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		f.srv.SetFaults(helpscouttest.Faults{Delay: time.Millisecond})
		for range 3 {
			if got := f.do(t, "GET", "/v2/mailboxes", "").code; got != 200 {
				t.Fatalf("code %d", got)
			}
		}
		if got := f.srv.Stats().Delayed; got != 3 {
			t.Errorf("Delayed = %d, want 3", got)
		}
	})
	t.Run("truncated body", func(t *testing.T) {
		f := setup(t, helpscouttest.Options{})
		f.conv(t, helpscouttest.NewConversation{})
		f.srv.SetFaults(helpscouttest.Faults{TruncateProbability: 1})
		req, _ := http.NewRequest("GET", f.ts.URL+"/v2/conversations?embed=threads", nil)
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("code %d", resp.StatusCode)
		}
		b, err := io.ReadAll(resp.Body)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("read error = %v, want unexpected EOF", err)
		}
		if len(b) == 0 || int64(len(b)) >= resp.ContentLength {
			t.Errorf("read %d of %d bytes, want a strict prefix", len(b), resp.ContentLength)
		}
		if got := f.srv.Stats().Truncated; got != 1 {
			t.Errorf("Truncated = %d", got)
		}
		f.srv.SetFaults(helpscouttest.Faults{})
		if got := f.do(t, "GET", "/v2/conversations", "").code; got != 200 {
			t.Errorf("after clearing faults: %d", got)
		}
	})
}

func TestStateAPIIsNotTraffic(t *testing.T) {
	f := setup(t, helpscouttest.Options{RateLimitPerMinute: 10})
	c := f.conv(t, helpscouttest.NewConversation{})
	if err := f.srv.Assign(c.ID, 0, f.ana, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.AddNote(c.ID, helpscouttest.ThreadInput{Body: "x"}); err != nil {
		t.Fatal(err)
	}
	_ = f.srv.Conversations()
	st := f.srv.Stats()
	if len(st.Requests) != 0 || f.srv.RateLimitRemaining() != 10 || len(f.srv.Patches()) != 0 || len(f.srv.NotesReceived()) != 0 {
		t.Errorf("state API calls were counted: %+v", st)
	}
}
