package backfill

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// DefaultStep is the distance between two samples of a series: the
// resolution of the dashboard's panels over a day.
const DefaultStep = time.Minute

// Options says what to write.
type Options struct {
	// Since is how far back from Now the history starts.
	Since time.Duration
	// Step is the distance between samples, a whole number of seconds;
	// zero means DefaultStep.
	Step time.Duration
	Now  time.Time
	// OfficeHours, when set, adds the office-hours twins, computed by the
	// same arithmetic as the live ones (roster.OfficeHours.Elapsed).
	OfficeHours roster.OfficeHours
	// Report, when set, receives Run's summary line (the text goes to
	// its own writer, stdout for the command).
	Report io.Writer
}

// Summary says what Write wrote.
type Summary struct {
	// From and To are the first and last sample times; zero when nothing
	// was written.
	From, To time.Time
	// Seam is where live observation began, zero when the daemon has never
	// run; End is where the history stops (store.History).
	Seam           store.LiveSeam
	End            time.Time
	FirstResponses int
	Resolutions    int
	Series         int   // histogram series, one per family and label set
	Samples        int64 // sample lines
	Bytes          int64
}

// Run reads the history from db and writes it to w.
func Run(ctx context.Context, db *store.DB, w io.Writer, opts Options) (Summary, error) {
	if err := opts.Validate(); err != nil {
		return Summary{}, err
	}
	h, err := db.History(ctx, opts.Now.Add(-opts.Since))
	if err != nil {
		return Summary{}, err
	}
	sum, err := Write(ctx, w, h, opts)
	if err == nil && opts.Report != nil {
		fmt.Fprintln(opts.Report, sum)
	}
	return sum, err
}

// Validate reports every problem of o at once, and fills in the default
// step.
func (o *Options) Validate() error {
	o.Step = cmp.Or(o.Step, DefaultStep)
	var problems []error
	if o.Since <= 0 {
		problems = append(problems, fmt.Errorf("the period must be positive, not %v", o.Since))
	}
	if o.Step < time.Second || o.Step%time.Second != 0 {
		problems = append(problems, fmt.Errorf("the step must be a whole number of seconds, not %v", o.Step))
	}
	if o.Since > 0 && o.Step > o.Since {
		// The first sample is a step before a series' first event: a
		// longer step than the period starts the text before the period.
		problems = append(problems, fmt.Errorf("the step (%v) must not be longer than the period (%v)", o.Step, o.Since))
	}
	return errors.Join(problems...)
}

// family is one histogram to write.
type family struct {
	name, help string
	labels     []string // label names, in the live instrument's order
	events     []store.Observation
	seconds    func(store.Observation) float64
	// labelValues are o's label values, in labels' order.
	labelValues func(o store.Observation) []int64
}

// Write writes h as OpenMetrics text to w, ending with "# EOF".
func Write(ctx context.Context, w io.Writer, h store.History, opts Options) (Summary, error) {
	if err := opts.Validate(); err != nil {
		return Summary{}, err
	}
	live := func(o store.Observation) float64 { return o.At.Sub(o.CreatedAt).Seconds() }
	office := func(o store.Observation) float64 { return opts.OfficeHours.Elapsed(o.CreatedAt, o.At).Seconds() }
	byAgent := func(o store.Observation) []int64 { return []int64{o.MailboxID, o.AgentID} }
	byMailbox := func(o store.Observation) []int64 { return []int64{o.MailboxID} }
	agentLabels, mailboxLabels := []string{"mailbox_id", "agent_id"}, []string{"mailbox_id"}
	families := []family{
		{metrics.FirstResponseName, metrics.FirstResponseHelp, agentLabels, h.FirstResponses, live, byAgent},
		{metrics.ResolutionName, metrics.ResolutionHelp, mailboxLabels, h.Resolutions, live, byMailbox},
	}
	if opts.OfficeHours.IsSet() {
		families = append(families,
			family{metrics.FirstResponseOfficeName, metrics.FirstResponseOfficeHelp, agentLabels, h.FirstResponses, office, byAgent},
			family{metrics.ResolutionOfficeName, metrics.ResolutionOfficeHelp, mailboxLabels, h.Resolutions, office, byMailbox})
	}

	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	sum := Summary{Seam: h.Seam, End: h.End, FirstResponses: len(h.FirstResponses), Resolutions: len(h.Resolutions)}
	step := opts.Step.Milliseconds()
	last := ceilStep(h.End.UnixMilli(), step)
	if !h.Seam.Since.IsZero() {
		// Never past the seam: the daemon's scrapes cover what follows it,
		// and a sample up to a step later overlapped them (with the
		// seam's count, so no rate doubled, but the ranges met wrongly).
		// The last sample is the seam, to the second, off the grid when
		// the seam is; an event in its last fraction of a second
		// (History's events are before End) is counted there (write).
		last = h.End.UnixMilli() / 1000 * 1000
	}
	if now := ceilStep(opts.Now.UnixMilli(), 1000); last > now {
		// Never a sample in the future: Prometheus refuses scraped samples
		// older than the newest imported block's end, so the daemon's
		// first scrapes would be lost until then. The last sample is then
		// now, off the grid (End is at most now).
		last = max(now, ceilStep(h.End.UnixMilli(), 1000))
	}
	for _, f := range families {
		fmt.Fprintf(bw, "# TYPE %s histogram\n# HELP %s %s\n", f.name, f.name, f.help)
		for _, s := range f.series() {
			if err := ctx.Err(); err != nil {
				return sum, err
			}
			first := ceilStep(s.events[0].at, step) - step
			n, err := s.write(bw, first, last, step)
			sum.Series++
			sum.Samples += n
			if err != nil {
				return sum, fmt.Errorf("write %s: %w", f.name, err)
			}
			if sum.From.IsZero() || first < sum.From.UnixMilli() {
				sum.From = time.UnixMilli(first).UTC()
			}
			sum.To = time.UnixMilli(last).UTC()
		}
	}
	bw.WriteString("# EOF\n")
	err := bw.Flush()
	sum.Bytes = cw.n
	return sum, err
}

// ceilStep is the first multiple of step at or after ms.
func ceilStep(ms, step int64) int64 {
	q := ms / step * step
	if q < ms {
		q += step
	}
	return q
}

// event is one observation of a series: when (ms) and its value.
type event struct {
	at    int64
	value float64
}

// series is one label set of a family, with its observations oldest first.
type series struct {
	key    []int64
	events []event
	// prefixes are the lines' beginnings, up to and including the space
	// before the value: a bucket line per bound, +Inf, _sum, _count.
	prefixes [][]byte
}

// series groups f's events by label set, in numeric order of the labels.
func (f family) series() []*series {
	byKey := map[string]*series{}
	var out []*series
	for _, o := range f.events {
		key := f.labelValues(o)
		k := fmt.Sprint(key)
		s := byKey[k]
		if s == nil {
			s = &series{key: key}
			byKey[k] = s
			out = append(out, s)
		}
		s.events = append(s.events, event{at: o.At.UnixMilli(), value: f.seconds(o)})
	}
	slices.SortFunc(out, func(a, b *series) int { return slices.Compare(a.key, b.key) })
	for _, s := range out {
		slices.SortStableFunc(s.events, func(a, b event) int { return cmp.Compare(a.at, b.at) })
		s.prefixes = f.prefixes(s.key)
	}
	return out
}

func (f family) prefixes(key []int64) [][]byte {
	labels := ""
	for i, name := range f.labels {
		if i > 0 {
			labels += ","
		}
		labels += name + `="` + strconv.FormatInt(key[i], 10) + `"`
	}
	var out [][]byte
	for _, le := range append(slices.Clone(metrics.SupportTimeBuckets), inf) {
		// As the daemon's /metrics writes le (expfmt's text format), so
		// that the backfilled and the live series share label values.
		out = append(out, []byte(f.name+"_bucket{"+labels+`,le="`+formatFloat(le)+`"} `))
	}
	return append(out, []byte(f.name+"_sum{"+labels+"} "), []byte(f.name+"_count{"+labels+"} "))
}

var inf = math.Inf(1)

func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// write writes s's cumulative samples at every step from first to last
// (ms, both included; last may be off the grid) and returns the number of
// sample lines.
func (s *series) write(w io.Writer, first, last, step int64) (int64, error) {
	bounds := metrics.SupportTimeBuckets
	counts := make([]int64, len(bounds)+1) // the last is +Inf, the count
	total := 0.0
	next := 0
	var buf, ts []byte
	var lines int64
	for t := first; ; t = min(t+step, last) {
		// The last sample counts every event left: with a seam it is the
		// seam rounded down to the second, and an event in that second
		// before the seam belongs to the history too.
		for next < len(s.events) && (s.events[next].at <= t || t >= last) {
			v := s.events[next].value
			for i, b := range bounds {
				if v <= b {
					counts[i]++
				}
			}
			counts[len(bounds)]++
			total += v
			next++
		}
		ts = strconv.AppendInt(ts[:0], t/1000, 10)
		buf = buf[:0]
		for i, c := range counts {
			buf = append(strconv.AppendInt(append(buf, s.prefixes[i]...), c, 10), ' ')
			buf = append(append(buf, ts...), '\n')
		}
		buf = append(strconv.AppendFloat(append(buf, s.prefixes[len(counts)]...), total, 'g', -1, 64), ' ')
		buf = append(append(buf, ts...), '\n')
		buf = append(strconv.AppendInt(append(buf, s.prefixes[len(counts)+1]...), counts[len(bounds)], 10), ' ')
		buf = append(append(buf, ts...), '\n')
		if _, err := w.Write(buf); err != nil {
			return lines, err
		}
		lines += int64(len(counts) + 2)
		if t >= last {
			return lines, nil
		}
	}
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
