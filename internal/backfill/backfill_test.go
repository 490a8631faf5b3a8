package backfill_test

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/backfill"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.om from the current output")

// t0 is a Monday, 09:00 in UTC.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// mirror is a hand-made mirror: conversations with one customer message at
// creation and the threads given.
type mirror struct {
	t  *testing.T
	db *store.DB
}

func newMirror(t *testing.T) *mirror { return &mirror{t: t, db: testkit.OpenStore(t)} }

// add stores conversation id in mailbox, created at created, answered by
// agent at replied (no reply when zero) and closed at closed (open when
// zero).
func (m *mirror) add(id, mailbox, agent int64, created, replied, closed time.Time) {
	m.t.Helper()
	c := store.Conversation{ID: id, Number: id, MailboxID: mailbox, Status: store.StatusActive, State: store.StatePublished,
		Type: "email", CreatedByType: store.ByCustomer, CreatedByID: 500, CustomerID: 500, AssigneeID: agent,
		CreatedAt: created, UserUpdatedAt: created, ThreadCount: 1}
	threads := []store.Thread{{ID: id * 10, Type: store.ThreadCustomer, State: store.StatePublished, Status: "nochange",
		CreatedByType: store.ByCustomer, CreatedByID: 500, CreatedAt: created}}
	if !replied.IsZero() {
		threads = append(threads, store.Thread{ID: id*10 + 1, Type: store.ThreadMessage, State: store.StatePublished,
			Status: "nochange", CreatedByType: store.ByUser, CreatedByID: agent, CreatedAt: replied})
		c.ThreadCount, c.UserUpdatedAt = 2, replied
	}
	if !closed.IsZero() {
		c.Status, c.ClosedAt, c.ClosedBy, c.UserUpdatedAt = store.StatusClosed, closed, agent, closed
	}
	if _, err := m.db.ApplyConversation(context.Background(), store.ConversationUpdate{Conversation: c, Threads: threads, ThreadsComplete: true}); err != nil {
		m.t.Fatal(err)
	}
}

// mark marks conversation id's first response and resolution as the
// daemon's observe does: live or as history.
func (m *mirror) mark(id int64, now time.Time, live bool) {
	m.t.Helper()
	ctx := context.Background()
	if _, err := m.db.MarkFirstResponseObserved(ctx, id, now, live); err != nil {
		m.t.Fatal(err)
	}
	if _, err := m.db.MarkResolutionObserved(ctx, id, now, live); err != nil {
		m.t.Fatal(err)
	}
}

func (m *mirror) backfill(opts backfill.Options) (string, backfill.Summary) {
	m.t.Helper()
	var buf bytes.Buffer
	sum, err := backfill.Run(context.Background(), m.db, &buf, opts)
	if err != nil {
		m.t.Fatal(err)
	}
	return buf.String(), sum
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update to rewrite it):\n%s", path, got)
	}
}

// TestSeam: the daemon began observing at 09:04. Of the replies before
// it, the one observed live is left out, and so is everything after the
// seam; the others are written, cumulatively, up to the step that holds
// the seam.
func TestSeam(t *testing.T) {
	m := newMirror(t)
	// Mailbox 10, agent 7: FRT 90 s (09:01:30, step 09:02), closed at
	// 09:02:30 (resolution 150 s, step 09:03).
	m.add(1, 10, 7, at(0), at(90*time.Second), at(150*time.Second))
	// Mailbox 10, agent 7: created an hour before t0, answered at 09:02
	// exactly (FRT 3720 s, counted at the 09:02 step itself).
	m.add(2, 10, 7, at(-time.Hour), at(2*time.Minute), time.Time{})
	// Mailbox 20, agent 8: FRT 30 s (step 09:01); never closed.
	m.add(3, 20, 8, at(0), at(30*time.Second), time.Time{})
	// Observed live by the daemon: not written.
	m.add(4, 10, 7, at(0), at(3*time.Minute), at(3*time.Minute))
	if _, err := m.db.BeginLiveObservation(context.Background(), at(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for id, live := range map[int64]bool{1: false, 2: false, 3: false, 4: true} {
		m.mark(id, at(4*time.Minute), live)
	}
	// After the seam, marked as history (it came too late): not written.
	m.add(5, 10, 7, at(0), at(5*time.Minute), at(6*time.Minute))
	m.mark(5, at(7*time.Minute), false)

	got, sum := m.backfill(backfill.Options{Since: 24 * time.Hour, Now: at(10 * time.Minute)})
	golden(t, "seam.golden.om", got)
	if sum.FirstResponses != 3 || sum.Resolutions != 1 || sum.Series != 3 || !sum.End.Equal(at(4*time.Minute)) ||
		!sum.From.Equal(at(0)) || !sum.To.Equal(at(4*time.Minute)) {
		t.Errorf("summary = %+v, want 3 first responses, 1 resolution, 3 series from 09:00 to the seam at 09:04", sum)
	}
	samples := strings.Count(got, "\n") - strings.Count(got, "#")
	if sum.Bytes != int64(len(got)) || sum.Samples != int64(samples) {
		t.Errorf("summary counts %d bytes, %d samples; the text has %d bytes, %d sample lines", sum.Bytes, sum.Samples, len(got), samples)
	}
	checkCumulative(t, got)
}

// TestNeverServed: only `sync` has run, so nothing is marked and no seam
// recorded: every answer in the mirror is history, up to the newest. The
// period leaves out the older ones.
func TestNeverServed(t *testing.T) {
	m := newMirror(t)
	m.add(1, 10, 7, at(-3*time.Hour), at(-2*time.Hour), time.Time{}) // before the period
	m.add(2, 10, 7, at(0), at(90*time.Second), at(150*time.Second))
	m.add(3, 10, 8, at(0), at(61*time.Second), time.Time{})
	got, sum := m.backfill(backfill.Options{Since: time.Hour, Now: at(30 * time.Minute)})
	golden(t, "never-served.golden.om", got)
	if !sum.Seam.Since.IsZero() || !sum.End.Equal(at(150*time.Second+time.Millisecond)) || sum.FirstResponses != 2 || sum.Resolutions != 1 {
		t.Errorf("summary = %+v, want no seam, the end just after the newest answer (09:02:30), 2 first responses, 1 resolution", sum)
	}
	checkCumulative(t, got)
}

// TestOfficeHours: with office hours, the twins count only time inside
// them, by roster.OfficeHours.Elapsed: a message on Friday at 16:00 answered
// on Monday at 09:30 took 1 h 30 m of office time (65 h 30 m in all).
func TestOfficeHours(t *testing.T) {
	m := newMirror(t)
	friday := at(-72*time.Hour + 7*time.Hour) // Friday 16:00
	m.add(1, 10, 7, friday, at(30*time.Minute), at(30*time.Minute))
	office, err := roster.ParseOfficeHours("Mon-Fri 09:00-17:00 UTC")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := m.backfill(backfill.Options{Since: 24 * time.Hour, Now: at(time.Hour), OfficeHours: office, Step: 30 * time.Minute})
	golden(t, "office-hours.golden.om", got)
	for _, want := range []string{
		`helpscout_first_response_seconds_sum{mailbox_id="10",agent_id="7"} 235800 1772443800`,
		`helpscout_first_response_office_seconds_sum{mailbox_id="10",agent_id="7"} 5400 1772443800`,
		`helpscout_first_response_office_seconds_bucket{mailbox_id="10",agent_id="7",le="3600"} 0 1772443800`,
		`helpscout_first_response_office_seconds_bucket{mailbox_id="10",agent_id="7",le="7200"} 1 1772443800`,
		`helpscout_resolution_office_seconds_count{mailbox_id="10"} 1 1772443800`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing line %q", want)
		}
	}
	plain, _ := m.backfill(backfill.Options{Since: 24 * time.Hour, Now: at(time.Hour), Step: 30 * time.Minute})
	if strings.Contains(plain, "office") {
		t.Error("office-hours series written without office hours set")
	}
}

// TestNoSampleInTheFuture: the newest answer is at 09:00:30 and the
// backfill runs at 09:00:40; the step that holds the answer ends at 09:01,
// in the future, so the last sample is at 09:00:40 instead.
func TestNoSampleInTheFuture(t *testing.T) {
	m := newMirror(t)
	m.add(1, 10, 7, at(-time.Minute), at(30*time.Second), time.Time{})
	got, sum := m.backfill(backfill.Options{Since: time.Hour, Now: at(40 * time.Second)})
	if !sum.To.Equal(at(40*time.Second)) || strings.Contains(got, " 1772442060\n") {
		t.Errorf("last sample at %v; want 09:00:40, none at 09:01", sum.To)
	}
	if want := `helpscout_first_response_seconds_count{mailbox_id="10",agent_id="7"} 1 1772442040` + "\n"; !strings.Contains(got, want) {
		t.Errorf("missing the final sample %q in\n%s", want, got)
	}
	checkCumulative(t, got)
}

func TestBadOptions(t *testing.T) {
	m := newMirror(t)
	var buf bytes.Buffer
	_, err := backfill.Run(context.Background(), m.db, &buf, backfill.Options{Since: -time.Hour, Step: 1500 * time.Millisecond, Now: t0})
	if err == nil || !strings.Contains(err.Error(), "period must be positive") || !strings.Contains(err.Error(), "whole number of seconds") {
		t.Errorf("err = %v, want both problems named", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q on bad options", buf.String())
	}
}

// checkCumulative reads OpenMetrics text and checks every histogram point:
// buckets never fall as le grows, +Inf equals _count, and no series falls
// from one step to the next; and the text ends with # EOF.
func checkCumulative(t *testing.T, text string) {
	t.Helper()
	if !strings.HasSuffix(text, "\n# EOF\n") {
		t.Error("text does not end with # EOF")
	}
	type point struct {
		buckets []float64
		count   float64
	}
	last := map[string]float64{}  // series line (without value) -> value at the previous step
	points := map[string]*point{} // series labels without le, timestamp -> point
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("line %q: want series, value, timestamp", line)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if prev, ok := last[f[0]]; ok && v < prev {
			t.Errorf("%s falls from %v to %v at %s", f[0], prev, v, f[2])
		}
		last[f[0]] = v
		name, labels, _ := strings.Cut(f[0], "{")
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		le := ""
		if i := strings.Index(labels, `,le="`); i >= 0 {
			le, labels = labels[i:], labels[:i]
		}
		key := base + "{" + strings.TrimSuffix(labels, "}") + "} " + f[2]
		p := points[key]
		if p == nil {
			p = &point{}
			points[key] = p
		}
		switch {
		case strings.HasSuffix(name, "_bucket"):
			if n := len(p.buckets); n > 0 && v < p.buckets[n-1] {
				t.Errorf("%s %s: bucket %s below the one before", base, f[2], le)
			}
			p.buckets = append(p.buckets, v)
		case strings.HasSuffix(name, "_count"):
			p.count = v
		}
	}
	for key, p := range points {
		if len(p.buckets) != len(metrics.SupportTimeBuckets)+1 {
			t.Errorf("%s: %d buckets, want %d", key, len(p.buckets), len(metrics.SupportTimeBuckets)+1)
		} else if p.buckets[len(p.buckets)-1] != p.count {
			t.Errorf("%s: +Inf %v, _count %v", key, p.buckets[len(p.buckets)-1], p.count)
		}
	}
	if len(points) == 0 {
		t.Error(fmt.Sprint("no histogram points in ", text))
	}
}

// TestFlags: --since takes days or a Go duration, --step whole seconds;
// anything else is refused by the flag set, and the defaults are 90 days
// and one minute.
func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		since, step time.Duration
		ok          bool
	}{
		{nil, 90 * 24 * time.Hour, time.Minute, true},
		{[]string{"--since", "7d", "--step", "5m"}, 7 * 24 * time.Hour, 5 * time.Minute, true},
		{[]string{"--since", "2160h", "--step", "30s"}, 2160 * time.Hour, 30 * time.Second, true},
		{[]string{"--since", "ninety"}, 0, 0, false},
		{[]string{"--since", "0d"}, 0, 0, false},
		{[]string{"--since", "-5h"}, 0, 0, false},
		{[]string{"--step", "1500ms"}, 0, 0, false},
		{[]string{"--step", "2d5h"}, 0, 0, false},
	} {
		var o backfill.Options
		fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		o.AddFlags(fs)
		err := fs.Parse(tc.args)
		if (err == nil) != tc.ok || tc.ok && (o.Since != tc.since || o.Step != tc.step) {
			t.Errorf("%q: since %v, step %v, err %v; want %v, %v, ok %v", tc.args, o.Since, o.Step, err, tc.since, tc.step, tc.ok)
		}
	}
}

// TestSeamOffTheGrid: a seam between two steps (09:04:30, steps of a
// minute or an hour) ends the text at the seam, not at the next step
// after it, which the daemon's scrapes already cover; the summary names
// the seam's own time. The last sample was at 09:05 (or 10:00 with --step
// 1h) and the message called that time the seam.
func TestSeamOffTheGrid(t *testing.T) {
	m := newMirror(t)
	m.add(1, 10, 7, at(0), at(90*time.Second), time.Time{})
	// Answered in the seam's own second, just before it: history still.
	m.add(2, 10, 7, at(0), at(4*time.Minute+30*time.Second+200*time.Millisecond), time.Time{})
	seam := at(4*time.Minute + 30*time.Second + 500*time.Millisecond)
	if _, err := m.db.BeginLiveObservation(context.Background(), seam); err != nil {
		t.Fatal(err)
	}
	m.mark(1, seam, false)
	m.mark(2, seam, false)
	for _, step := range []time.Duration{time.Minute, time.Hour} {
		got, sum := m.backfill(backfill.Options{Since: 24 * time.Hour, Step: step, Now: at(10 * time.Minute)})
		wantLast := at(4*time.Minute + 30*time.Second)
		if !sum.To.Equal(wantLast) {
			t.Errorf("step %v: last sample at %v, want the seam's second, %v", step, sum.To, wantLast)
		}
		final := fmt.Sprintf(`helpscout_first_response_seconds_count{mailbox_id="10",agent_id="7"} 2 %d`+"\n", wantLast.Unix())
		if !strings.Contains(got, final) || strings.Contains(got, fmt.Sprint(" ", wantLast.Unix()+1)) {
			t.Errorf("step %v: want the final sample %q and none after it in\n%s", step, final, got)
		}
		if want := "to 2026-03-02T09:04:30Z (the seam, 2026-03-02T09:04:30Z, where"; !strings.Contains(sum.String(), want) {
			t.Errorf("step %v: summary %q lacks %q", step, sum.String(), want)
		}
		checkCumulative(t, got)
	}
}

// TestStepLongerThanThePeriod: a step past the period would start the
// text a step before the first event, before the period: refused.
func TestStepLongerThanThePeriod(t *testing.T) {
	o := backfill.Options{Since: 2 * 24 * time.Hour, Step: 7 * 24 * time.Hour, Now: t0}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "must not be longer than the period") {
		t.Errorf("Validate = %v, want the step refused", err)
	}
}
