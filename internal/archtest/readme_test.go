package archtest

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readmeMap reads the README's package map: the table under "### Package
// map", one row per package with the module packages and the third-party
// module prefixes it may import ("none", or "any" for the command).
func readmeMap(t *testing.T) map[string]rule {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("read the README: %v", err)
	}
	_, section, ok := strings.Cut(string(data), "\n### Package map\n")
	if !ok {
		t.Fatal(`the README has no "### Package map" section`)
	}
	out := map[string]rule{}
	inTable := false
	for line := range strings.Lines(section) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break // the first line after the table ends it
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 4 {
			t.Fatalf("package map row %q has %d cells, want 4 (package, job, module imports, third-party)", line, len(cells))
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		if name == "package" || strings.HasPrefix(name, "---") {
			continue // the header and its rule
		}
		if _, dup := out[name]; dup {
			t.Errorf("package map lists %s twice", name)
		}
		out[name] = rule{internal: codeList(cells[2]), thirdParty: codeList(cells[3])}
	}
	if len(out) == 0 {
		t.Fatal("the README's package map table is empty")
	}
	return out
}

// codeList reads a cell such as "`a`, `b`" into [a b]; "none" is empty and
// "any" is the wildcard the rules use for the command.
func codeList(cell string) []string {
	cell = strings.TrimSpace(cell)
	switch cell {
	case "none":
		return nil
	case "any":
		return []string{"*"}
	}
	var out []string
	for item := range strings.SplitSeq(cell, ",") {
		out = append(out, strings.Trim(strings.TrimSpace(item), "`"))
	}
	slices.Sort(out)
	return out
}

// TestReadmePackageMapMatchesRules keeps the map a contributor reads equal to
// the one this package enforces: the same packages, the same allowed imports.
func TestReadmePackageMapMatchesRules(t *testing.T) {
	got := readmeMap(t)
	want := map[string]rule{}
	for name, r := range rules {
		want[name] = rule{internal: sorted(r.internal), thirdParty: sorted(r.thirdParty)}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(rule{})); diff != "" {
		t.Errorf("README package map differs from archtest's rules (-rules +README):\n%s", diff)
	}
}

func sorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
