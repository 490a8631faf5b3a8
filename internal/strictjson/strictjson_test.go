package strictjson

import (
	"encoding/json"
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
