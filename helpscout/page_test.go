package helpscout

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodePage(t *testing.T) {
	t.Parallel()
	type item struct {
		ID int64 `json:"id"`
	}
	tests := []struct {
		name      string
		in        string
		wantItems []item
		wantPage  PageInfo
		wantErr   bool
	}{
		{name: "items and page", in: `{"_embedded":{"users":[{"id":1},{"id":2}]},"_links":{"next":{"href":"x"}},"page":{"size":50,"totalElements":2,"totalPages":1,"number":1}}`,
			wantItems: []item{{1}, {2}}, wantPage: PageInfo{Size: 50, TotalElements: 2, TotalPages: 1, Number: 1}},
		{name: "page before embedded", in: `{"page":{"number":2,"totalPages":3},"_embedded":{"users":[{"id":3}]}}`,
			wantItems: []item{{3}}, wantPage: PageInfo{Number: 2, TotalPages: 3}},
		{name: "empty page has no _embedded", in: `{"_links":{},"page":{"size":50,"totalElements":0,"totalPages":0,"number":1}}`,
			wantPage: PageInfo{Size: 50, Number: 1}},
		{name: "other collections skipped", in: `{"_embedded":{"teams":[{"id":"not a number"}],"users":[{"id":4}]}}`, wantItems: []item{{4}}},
		{name: "null embedded", in: `{"_embedded":null,"page":null}`},
		{name: "whitespace around", in: " \n{\"_embedded\":{\"users\":[]}}\n ", wantItems: []item{}},
		{name: "array", in: `[{"id":1}]`, wantErr: true},
		{name: "null", in: `null`, wantErr: true},
		{name: "embedded is a list", in: `{"_embedded":[]}`, wantErr: true},
		{name: "wrong item type", in: `{"_embedded":{"users":[{"id":"x"}]}}`, wantErr: true},
		{name: "truncated", in: `{"_embedded":{"users":[{"id":1}`, wantErr: true},
		{name: "trailing data", in: `{"page":{}} {"page":{}}`, wantErr: true},
		{name: "empty", in: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, page, err := decodePage[item]([]byte(tt.in), "users")
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decodePage(%s) = %v, %v, want an error", tt.in, items, page)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodePage(%s): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.wantItems, items); diff != "" {
				t.Errorf("items mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantPage, page); diff != "" {
				t.Errorf("page mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
