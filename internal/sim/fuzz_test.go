package sim

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseScenario feeds arbitrary bytes to the scenario parser: it must
// never panic, and whatever it accepts must validate and be usable.
func FuzzParseScenario(f *testing.F) {
	for _, name := range BuiltinNames() {
		data, err := os.ReadFile(filepath.Join("scenarios", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"name":"x","seed":1,"duration":"24h","team":[{"name":"A","role":"st","level":2,"speed":1}],"arrivals":{"per_hour":2}}`))
	f.Add([]byte(`{"name":"x","duration":"-1h","team":[]}`))
	f.Add([]byte(`{"team":[{"name":"A","role":"boss"}],"arrivals":{"per_hour":-1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario(data)
		if err != nil {
			return
		}
		if err := sc.Validate(); err != nil {
			t.Fatalf("ParseScenario accepted a scenario that does not validate: %v", err)
		}
		if sc.Duration <= 0 || len(sc.Team) == 0 {
			t.Fatalf("accepted scenario without duration or team: %+v", sc)
		}
	})
}
