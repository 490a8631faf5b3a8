package config

import (
	"log/slog"
	"os"
	"slices"
	"strings"
)

// UnknownVariables names each QW_ variable in environ (os.Environ's
// "KEY=value" form) that no setting reads, in environ's order, with a
// "did you mean" for a known name within a typo or two. Values are never
// looked at: a misspelt secret's name is reported, not its value.
func UnknownVariables(environ []string) []string {
	known := Keys()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if len(name) < len(Prefix)+1 || !strings.EqualFold(name[:len(Prefix)+1], Prefix+"_") || slices.Contains(known, name) {
			continue
		}
		if guess := closest(name, known); guess != "" {
			name += " (did you mean " + guess + "?)"
		}
		out = append(out, name)
	}
	return out
}

// WarnUnknown logs one warning listing the process environment's unknown
// QW_ variables (UnknownVariables), if there are any: QW_MODEE=apply would
// otherwise start a daemon in propose mode without a word. A warning, not
// a configuration error: the variable may belong to a newer version, and a
// daemon that refused to start over it would make rolling back harder.
func WarnUnknown(logger *slog.Logger) { warnUnknown(logger, os.Environ()) }

func warnUnknown(logger *slog.Logger, environ []string) {
	if unknown := UnknownVariables(environ); len(unknown) > 0 {
		logger.Warn("unknown QW_ variables are ignored; queuewrangler -h lists the known ones",
			"component", "config", "variables", strings.Join(unknown, ", "))
	}
}

// closest returns the known name nearest to name when it is a plausible
// typo (at most two edits, fewer than half the characters after the
// prefix, letter case ignored), else "".
func closest(name string, known []string) string {
	upper := strings.ToUpper(name)
	best, bestDist := "", 3
	for _, k := range known {
		d := editDistance(upper, k)
		if d < bestDist && 2*d < len(k)-len(Prefix)-1 {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, by byte
// (variable names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
