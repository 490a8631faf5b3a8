package backfill

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AddFlags declares --since and --step on fs, with their defaults (90
// days, DefaultStep); a value they refuse is a usage error of fs.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	o.Since, o.Step = 90*24*time.Hour, DefaultStep
	fs.Var(period{&o.Since, false}, "since", "how far back the history starts: days (90d) or a Go duration (2160h)")
	fs.Var(period{&o.Step, true}, "step", "the time between samples, whole seconds; a rate() window must hold two (README, History from the first day)")
}

// period is a flag value for a duration: a whole number of days ("90d"),
// the unit people think of history in, or a Go duration ("2160h", "5m").
type period struct {
	d    *time.Duration
	step bool // a sample step: whole seconds
}

func (p period) Set(s string) error {
	v, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, aerr := strconv.Atoi(days)
		v, err = time.Duration(n)*24*time.Hour, aerr
	}
	switch {
	case err != nil:
		return fmt.Errorf("want a whole number of days such as 90d, or a Go duration such as 2160h")
	case v <= 0:
		return fmt.Errorf("want a positive duration")
	case p.step && v%time.Second != 0:
		return fmt.Errorf("want whole seconds")
	}
	*p.d = v
	return nil
}

// String says the duration in whole days when it is some.
func (p period) String() string {
	if p.d == nil {
		return ""
	}
	if day := 24 * time.Hour; *p.d > 0 && *p.d%day == 0 {
		return fmt.Sprintf("%dd", *p.d/day)
	}
	return p.d.String()
}

// String is the summary's line for the terminal (stdout holds the text).
func (s Summary) String() string {
	end := "the newest mirrored answer; the daemon has not run yet and will not observe these"
	if !s.Seam.Since.IsZero() {
		end = "the seam, " + s.Seam.Since.UTC().Format(time.RFC3339) + ", where the daemon began observing live"
	}
	if s.Series == 0 {
		return fmt.Sprintf("backfill: nothing to write before %s", end)
	}
	return fmt.Sprintf("backfill: %d first responses and %d resolutions in %d series, %d samples (%s) from %s to %s (%s)",
		s.FirstResponses, s.Resolutions, s.Series, s.Samples, formatBytes(s.Bytes),
		s.From.Format(time.RFC3339), s.To.Format(time.RFC3339), end)
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
