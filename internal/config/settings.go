package config

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Setting is one variable as a command would run with it: its effective
// value as text (a secret only as "set"), and whether that is the default.
type Setting struct {
	Key, Value string
	IsDefault  bool
}

// Settings lists every variable in -h order with the value c holds. Empty
// values say what empty means, as -h does ("empty = all"); secrets never
// show their value.
func (c *Config) Settings() []Setting {
	defaults := reflect.ValueOf(Defaults()).Elem()
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	out := make([]Setting, 0, t.NumField())
	for i := range t.NumField() {
		value := shown(v.Field(i))
		if value == "" {
			value = emptyMeans(t.Field(i).Tag.Get("desc"))
		}
		out = append(out, Setting{Key: Prefix + "_" + t.Field(i).Tag.Get("envconfig"), Value: value,
			IsDefault: shown(v.Field(i)) == shown(defaults.Field(i))})
	}
	return out
}

// WriteSettings writes Settings as a table, marking the values that are
// not the default.
func (c *Config) WriteSettings(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range c.Settings() {
		mark := " "
		if !s.IsDefault {
			mark = "*"
		}
		fmt.Fprintf(tw, "  %s %s\t%s\n", mark, s.Key, s.Value)
	}
	fmt.Fprintln(tw, "  (* set, not the default)")
	return tw.Flush()
}

// shown is a field's value as an operator would write it; a secret is
// "set (hidden)", and "" when empty.
func shown(f reflect.Value) string {
	switch v := f.Interface().(type) {
	case Secret:
		if v.IsSet() {
			return "set (hidden)"
		}
		return ""
	case Duration:
		// As written: 2m rather than time's 2m0s.
		text := v.Duration.String()
		if strings.HasSuffix(text, "m0s") {
			text = strings.TrimSuffix(text, "0s")
		}
		if strings.HasSuffix(text, "h0m") {
			text = strings.TrimSuffix(text, "0m")
		}
		return text
	case Int:
		return strconv.Itoa(v.N)
	case IDList:
		ids := make([]string, len(v.IDs))
		for i, id := range v.IDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		return strings.Join(ids, ",")
	case HostList:
		return strings.Join(v.Hosts, ",")
	case DailyAt:
		if v.Location == nil {
			return fmt.Sprintf("%02d:%02d", v.Hour, v.Minute)
		}
		return fmt.Sprintf("%02d:%02d %s", v.Hour, v.Minute, v.Location)
	case string:
		return v
	}
	panic(fmt.Sprintf("config: no way to show a %s", f.Type())) // a test shows every field
}

// emptyMeans is what a description says of an empty value ("empty = all",
// "empty disables webhooks"), or "empty".
func emptyMeans(desc string) string {
	i := strings.LastIndex(desc, "empty")
	if i < 0 {
		return "empty"
	}
	means, _, _ := strings.Cut(desc[i:], ";")
	return means
}
