package config

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// Secret is a string that never prints itself. Reveal is the only way to read
// it, which keeps every use of the raw value easy to find in review.
type Secret string

const redacted = "[redacted]"

// Reveal returns the raw value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether a value was configured.
func (s Secret) IsSet() bool { return s != "" }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer so %#v redacts too.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format redacts under every verb, including %s, %v, %q and %x.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts for encoding/json and friends.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MinAdminTokenLength is the shortest admin token Validate accepts. The
// token is the only protection against guessing: failed logins are slowed
// but never lock anyone out (a lockout would also lock out the SSTs behind
// a shared proxy address), so its length has to make guessing hopeless.
const MinAdminTokenLength = 16

// adminTokenProblem says what is wrong with a configured admin token, or
// "". It never repeats the token: the message goes to the terminal.
func adminTokenProblem(token string) string {
	if token == "" {
		return "" // read-only daemon
	}
	var problems []string
	if strings.TrimSpace(token) != token {
		// The API and the page compare the exact bytes; a token with a
		// trailing newline from a file would work in one and not the other
		// depending on how it is typed.
		problems = append(problems, "has whitespace at its start or end")
	}
	if n := utf8.RuneCountInString(token); n < MinAdminTokenLength {
		problems = append(problems, fmt.Sprintf("is %d characters, fewer than %d", n, MinAdminTokenLength))
	}
	return strings.Join(problems, " and ")
}

// SuggestToken returns a fresh random token (26 characters, 130 bits) for
// an operator to paste into QW_ADMIN_TOKEN.
func SuggestToken() string { return rand.Text() }
