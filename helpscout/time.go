package helpscout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// TimeLayout is how Help Scout writes and accepts timestamps: UTC, whole
// seconds, a literal Z. The API rejects fractional seconds in modifiedSince.
const TimeLayout = "2006-01-02T15:04:05Z"

// Time is a Help Scout timestamp. It decodes the API's layout and, because
// some documented examples differ, also RFC 3339 with an offset or fraction
// and a bare "2006-01-02T15:04:05" (read as UTC). The value is always UTC
// and truncated to the second, which is all the API carries, so a decoded
// Time encodes back to the same text. null and "" decode to the zero Time.
type Time struct {
	time.Time
}

// parseLayouts are tried in order; the first is what the live API sends.
var parseLayouts = []string{
	TimeLayout,
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
}

// ParseTime parses s as a Help Scout timestamp (see Time).
func ParseTime(s string) (Time, error) {
	for _, layout := range parseLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		t = t.UTC().Truncate(time.Second)
		if y := t.Year(); y < 0 || y > 9999 {
			return Time{}, fmt.Errorf("timestamp %q out of range", s)
		}
		return Time{t}, nil
	}
	return Time{}, fmt.Errorf("timestamp %q: want layout %s", s, TimeLayout)
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var s string
	if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' && bytes.IndexByte(data, '\\') < 0 {
		s = string(data[1 : len(data)-1])
	} else if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("timestamp: %w", err)
	}
	if s == "" {
		*t = Time{}
		return nil
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = parsed
	return nil
}

// MarshalJSON implements json.Marshaler: TimeLayout in UTC, null when zero.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("timestamp year %d out of range", y)
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = u.AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// String formats t in TimeLayout ("" for the zero Time).
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

// formatTime renders a query-string timestamp: UTC, no fraction.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(TimeLayout)
}
