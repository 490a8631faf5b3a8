package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// The types below implement envconfig.Decoder. Instead of failing, a bad
// value is kept in err so that Validate can report it beside every other
// problem; envconfig would otherwise stop at the first one.

// Duration is a time.Duration read from the environment.
type Duration struct {
	time.Duration
	raw string
	err error
}

// Decode implements envconfig.Decoder.
func (d *Duration) Decode(value string) error {
	d.raw = value
	v, err := time.ParseDuration(strings.TrimSpace(value))
	if err != nil {
		d.err = fmt.Errorf("%q is not a duration (examples: 90s, 5m, 4h)", value)
		return nil
	}
	d.Duration, d.err = v, nil
	return nil
}

// Int is an integer read from the environment.
type Int struct {
	N   int
	err error
}

// Decode implements envconfig.Decoder.
func (i *Int) Decode(value string) error {
	v, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil {
		i.err = fmt.Errorf("%q is not a whole number", value)
		return nil
	}
	i.N, i.err = v, nil
	return nil
}

// IDList is a comma-separated list of Help Scout ids.
type IDList struct {
	IDs []int64
	err error
}

// Decode implements envconfig.Decoder.
func (l *IDList) Decode(value string) error {
	l.IDs = nil
	l.err = eachItem(value, func(part string) error {
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q is not a positive id", part)
		}
		l.IDs = append(l.IDs, id)
		return nil
	})
	return nil
}

// eachItem calls use with every item of a comma-separated value, trimmed,
// skipping empty ones, and returns one error naming every item use
// refused: QW_MAILBOXES=a,b is two mistakes to fix in one pass.
func eachItem(value string, use func(item string) error) error {
	var problems []string
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			if err := use(part); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// DailyAt is a time of day with an optional IANA time zone, "09:00" or
// "09:00 Europe/Berlin" (QW_SLACK_DIGEST_AT).
type DailyAt struct {
	Hour, Minute int
	// Location is the zone named after the time; nil when the value names
	// none, so that the caller picks the default (config does not parse
	// QW_OFFICE_HOURS, whose zone is the digest's default).
	Location *time.Location
	err      error
}

// Decode implements envconfig.Decoder.
func (d *DailyAt) Decode(value string) error {
	*d = DailyAt{}
	clock, zone, _ := strings.Cut(strings.TrimSpace(value), " ")
	zone = strings.TrimSpace(zone)
	t, err := time.Parse("15:04", clock)
	if err != nil {
		d.err = fmt.Errorf("%q is not a time of day with an optional time zone (examples: 09:00, 08:30 Europe/Berlin)", value)
		return nil
	}
	d.Hour, d.Minute = t.Hour(), t.Minute()
	if zone == "" {
		return nil
	}
	if zone == "Local" {
		// It means the machine's zone, which differs between a laptop
		// and a container.
		d.err = fmt.Errorf("%q: name the time zone (for example Europe/Berlin or UTC), not Local", value)
		return nil
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		d.err = fmt.Errorf("%q: %q is not an IANA time zone (examples: America/New_York, Europe/Berlin, UTC)", value, zone)
		return nil
	}
	d.Location = loc
	return nil
}

// HostList is QW_ALLOWED_HOSTS: host names or addresses, each with an
// optional port, lowercased.
type HostList struct {
	Hosts []string
	err   error
}

// Decode implements envconfig.Decoder.
func (l *HostList) Decode(value string) error {
	l.Hosts = nil
	l.err = eachItem(value, func(part string) error {
		part = strings.ToLower(part)
		if err := checkHost(part); err != nil {
			return err
		}
		l.Hosts = append(l.Hosts, part)
		return nil
	})
	return nil
}

// checkHost accepts what a Host header carries: a name or an address, with
// an optional port; IPv6 addresses in brackets.
func checkHost(h string) error {
	bad := func(why string) error { return fmt.Errorf("%q is not a host name with an optional port: %s", h, why) }
	if strings.ContainsAny(h, "*?") {
		// Taken literally, '*' matched no Host header: every request got
		// 421, however the operator meant it.
		return bad("empty means any host; wildcards are not supported")
	}
	if strings.ContainsAny(h, "/@?# \t") {
		return bad("no scheme, path or spaces")
	}
	name := h
	if host, port, err := net.SplitHostPort(h); err == nil {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("the port must be a number from 1 to 65535")
		}
		name = host
	} else if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		name = h[1 : len(h)-1]
	}
	if name == "" {
		return bad("the name is empty")
	}
	if strings.Contains(name, ":") && (name == h || net.ParseIP(name) == nil) {
		return bad("an IPv6 address goes in brackets, a port after one colon")
	}
	return nil
}
