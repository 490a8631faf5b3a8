package httpapi

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestReadmeSaysEveryProposalStatus: the API answers seven proposal
// statuses, but the README named approved and applying only in the
// status= list of /api/v1/proposals and never said what any of them asks
// of an SST; design.md section 6 lists five. The README's table of
// statuses (section 6) and the endpoint's status= list must both hold
// exactly the statuses the API takes, so that a status added to the API
// cannot go unexplained.
func TestReadmeSaysEveryProposalStatus(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	var want []string
	for st := range proposalStatuses {
		want = append(want, st)
	}
	slices.Sort(want)

	const header = "| status | what it means | what it asks of an SST |\n|---|---|---|\n"
	i := strings.Index(readme, header)
	if i < 0 {
		t.Fatalf("README has no table of proposal statuses (header %q)", header)
	}
	table, _, _ := strings.Cut(readme[i+len(header):], "\n\n")
	row := regexp.MustCompile("^\\| `([a-z]+)` \\| [^|]+ \\| [^|]+ \\|$")
	var rows []string
	for _, line := range strings.Split(table, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("README's status table has a row that is not | `status` | meaning | ask |: %q", line)
			continue
		}
		rows = append(rows, m[1])
	}
	slices.Sort(rows)
	if !slices.Equal(rows, want) {
		t.Errorf("README's status table has %v, the API %v", rows, want)
	}

	m := regexp.MustCompile("`GET /api/v1/proposals\\?status=([a-z\\\\|]+)`").FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("README's HTTP surface has no GET /api/v1/proposals?status= row")
	}
	listed := strings.Split(m[1], `\|`)
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Errorf("README's GET /api/v1/proposals row lists %v, the API %v", listed, want)
	}
}
