package balancer

import "time"

// FormatDuration says a duration as the explanations do ("45m", "6h 10m",
// "4d 7h"), so that a table printed beside them uses one format.
func FormatDuration(d time.Duration) string { return humanDuration(d) }
