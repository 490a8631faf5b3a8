package helpscout

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeUnmarshal(t *testing.T) {
	t.Parallel()
	want := time.Date(2017, 12, 12, 12, 12, 13, 0, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{name: "api layout", in: `"2017-12-12T12:12:13Z"`, want: want},
		{name: "no zone, read as UTC", in: `"2017-12-12T12:12:13"`, want: want},
		{name: "offset", in: `"2017-12-12T14:12:13+02:00"`, want: want},
		{name: "fraction truncated", in: `"2017-12-12T12:12:13.987Z"`, want: want},
		{name: "no zone with fraction", in: `"2017-12-12T12:12:13.5"`, want: want},
		{name: "escaped", in: `"2017-12-12T12:12:13\u005a"`, want: want},
		{name: "null", in: `null`},
		{name: "empty string", in: `""`},
		{name: "date only", in: `"2017-12-12"`, wantErr: true},
		{name: "not a string", in: `1513080733`, wantErr: true},
		{name: "garbage", in: `"yesterday"`, wantErr: true},
		{name: "hour 25", in: `"2017-12-12T25:12:13Z"`, wantErr: true},
		{name: "year out of range after offset", in: `"0000-01-01T00:00:00+01:00"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Time
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.in, got.Time, tt.want)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("location = %v, want UTC", got.Location())
			}
		})
	}
}

func TestTimeMarshal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Time
		want string
	}{
		{name: "zero", in: Time{}, want: `null`},
		{name: "utc", in: Time{time.Date(2026, 3, 2, 9, 14, 5, 0, time.UTC)}, want: `"2026-03-02T09:14:05Z"`},
		{name: "other zone, fraction dropped", in: Time{time.Date(2026, 3, 2, 10, 14, 5, 999, time.FixedZone("CET", 3600))}, want: `"2026-03-02T09:14:05Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Marshal = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTimeOmittedWhenZero(t *testing.T) {
	t.Parallel()
	got, err := json.Marshal(Conversation{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"number":0,"threads":0,"type":"","folderId":0,"status":"","state":"","subject":"","preview":"","mailboxId":0,"closedBy":0}`
	if string(got) != want {
		t.Errorf("Marshal(Conversation{ID: 1}) =\n%s\nwant\n%s", got, want)
	}
}

func TestFormatTime(t *testing.T) {
	t.Parallel()
	in := time.Date(2018, 5, 4, 14, 0, 3, 456_000_000, time.FixedZone("X", 2*3600))
	if got, want := formatTime(in), "2018-05-04T12:00:03Z"; got != want {
		t.Errorf("formatTime = %q, want %q", got, want)
	}
}

func TestTimeString(t *testing.T) {
	t.Parallel()
	if got := (Time{}).String(); got != "" {
		t.Errorf("zero String() = %q, want empty", got)
	}
	in := Time{time.Date(2026, 3, 2, 10, 14, 5, 0, time.FixedZone("CET", 3600))}
	if got, want := in.String(), "2026-03-02T09:14:05Z"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
