package strictjson

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type doc struct {
	Name   string            `json:"name"`
	Team   []member          `json:"team"`
	Extra  *nested           `json:"extra,omitempty"`
	ByName map[string]nested `json:"by_name"`
	Raw    json.RawMessage   `json:"raw"`
	Skip   string            `json:"-"`
	Plain  int
}

type member struct {
	Name string  `json:"name"`
	Away []span  `json:"away"`
	Rate float64 `json:"rate"`
}

type span struct {
	At string `json:"at"`
}

type nested struct {
	Factor float64 `json:"factor"`
}

func TestUnknownFields(t *testing.T) {
	data := []byte(`{
		"name": "x", "nmae": 1, "plain": 3, "Skip": "no",
		"team": [{"name": "a"}, {"name": "b", "shoe": 1, "away": [{"at": "1h", "til": "2h"}]}],
		"extra": {"factor": 2, "fcator": 3},
		"by_name": {"k": {"nope": 1}},
		"raw": {"anything": {"goes": true}},
		"NAME": "case-insensitive match"
	}`)
	var got []string
	for _, u := range UnknownFields(data, &doc{}) {
		got = append(got, u.Path+"|"+u.Key)
	}
	want := []string{"|Skip", "by_name.k|nope", "extra|fcator", "|nmae", "team[1].away[0]|til", "team[1]|shoe"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown fields (-want +got):\n%s", diff)
	}
	u := UnknownFields(data, &doc{})[5]
	if s := u.String(); s != `team[1]: unknown field "shoe" (allowed: name, away, rate)` {
		t.Errorf("String() = %q", s)
	}
	if got := UnknownFields([]byte(`{"name": `), &doc{}); got != nil {
		t.Errorf("invalid JSON: %v, want nil (the decoder reports it)", got)
	}
	if got := UnknownFields([]byte(`{"team": "not a list"}`), &doc{}); got != nil {
		t.Errorf("wrong type: %v, want nil (the decoder reports it)", got)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("{\n  \"a\": [1,\n  x]}")
	for _, tt := range []struct {
		offset int64
		want   string
	}{
		{0, "line 1, column 1"}, {1, "line 1, column 1"}, {2, "line 2, column 1"},
		{13, "line 3, column 1"}, {15, "line 3, column 2"}, {99, "line 3, column 5"}, {-4, "line 1, column 1"},
	} {
		if got := Position(data, tt.offset); got != tt.want {
			t.Errorf("Position(%d) = %q, want %q", tt.offset, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	type record struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	for _, tt := range []struct{ name, data, want string }{
		{"empty", "  \n", "empty file"},
		{"cut off", "{\n  \"name\": \"a\",", `line 2, column 14: the JSON ends before the thing does (a missing } or ], or a cut-off file)`},
		{"syntax", "{\n\"name\": ,}", "line 2, column 9: invalid character ',' looking for beginning of value"},
		{"type", "{\n  \"count\": \"three\"}", "line 2, column 18: count: expected a whole number, got a JSON string"},
		{"not an object", "[1]", "line 1, column 1: expected an object ({...}), got a JSON array"},
		{"a string for a number", "{\"name\": 3}", "line 1, column 10: name: expected a string, got a JSON number"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// A Decoder, as the callers use: it reports an empty
			// document as io.EOF, where Unmarshal calls it a syntax error.
			var v record
			err := json.NewDecoder(strings.NewReader(tt.data)).Decode(&v)
			if got := Describe([]byte(tt.data), err, "thing"); got != tt.want {
				t.Errorf("Describe = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestDuplicateKeys: encoding/json keeps the last of a repeated key, so
// {"level": 9, "level": 1} passed a roster check as level 1. Every repeat
// is found, with its object's path and its place in the file (the
// column of the repeated key's closing quote). A struct's fields match
// keys case-insensitively, so "Name" after "name" is the same field given
// twice; a map keeps "K" and "k" apart, and so does a value the type
// leaves undecoded.
func TestDuplicateKeys(t *testing.T) {
	type dupAway struct {
		At string `json:"at"`
	}
	type dupMember struct {
		Name string    `json:"name"`
		Rate int       `json:"rate"`
		Away []dupAway `json:"away"`
	}
	type dupDoc struct {
		Name   string                    `json:"name"`
		Team   []*dupMember              `json:"team"`
		ByName map[string]map[string]int `json:"by_name"`
		Raw    json.RawMessage           `json:"raw"`
	}
	data := []byte(`{"name": "x",
 "team": [{"name": "a"}, {"name": "b", "rate": 1, "RATE": 2, "away": [{"at": "1", "at": "2"}]}],
 "by_name": {"k": {"factor": 1}, "k": {"factor": 2}, "K": {"factor": 3, "Factor": 4}},
 "raw": {"a": 1, "A": 2},
 "name": "y", "name": "z", "Name": "the same field"}`)
	var got []string
	for _, d := range DuplicateKeys(data, &dupDoc{}) {
		got = append(got, d.String())
	}
	want := []string{
		`team[1]: line 2, column 56: duplicate key "RATE" (the same field as "rate": JSON keeps only the last)`,
		`team[1].away[0]: line 2, column 86: duplicate key "at" (JSON keeps only the last)`,
		`by_name: line 3, column 36: duplicate key "k" (JSON keeps only the last)`,
		`line 5, column 7: duplicate key "name" (JSON keeps only the last)`,
		`line 5, column 20: duplicate key "name" (JSON keeps only the last)`,
		`line 5, column 33: duplicate key "Name" (the same field as "name": JSON keeps only the last)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("duplicate keys (-want +got):\n%s", diff)
	}
	// Without a type, keys are compared exactly.
	got = got[:0]
	for _, d := range DuplicateKeys(data, nil) {
		got = append(got, d.String())
	}
	if len(got) != 4 {
		t.Errorf("untyped: %d duplicates, want 4 (rate/RATE, Name/name and K/k are different keys):\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, doc := range []string{`{"a": 1, "b": {"a": 2}, "c": [{"a": 3}, {"a": 4}]}`, `[1, 2, 1]`, `null`, `{"a": `, ``} {
		if got := DuplicateKeys([]byte(doc), nil); len(got) != 0 {
			t.Errorf("DuplicateKeys(%s) = %v, want none", doc, got)
		}
	}
}
