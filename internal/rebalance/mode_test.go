package rebalance

import "testing"

func TestParseMode(t *testing.T) {
	for _, m := range Modes() {
		if got, err := ParseMode(string(m)); got != m || err != nil {
			t.Errorf("ParseMode(%q) = %q, %v; want the mode itself", m, got, err)
		}
	}
	for _, s := range []string{"", "yolo", "Apply", " apply"} {
		_, err := ParseMode(s)
		if want := `"` + s + `" is not one of off, propose, apply`; err == nil || err.Error() != want {
			t.Errorf("ParseMode(%q) error %v, want %q", s, err, want)
		}
	}
}
