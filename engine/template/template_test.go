package template

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in    string
		want  []Segment
		whole bool
	}{
		{in: "plain", want: []Segment{{Text: "plain"}}},
		{in: "${{ a.b }}", want: []Segment{{Text: "a.b", Expr: true, Offset: 4}}, whole: true},
		{in: " ${{a}} ", want: []Segment{{Text: " "}, {Text: "a", Expr: true, Offset: 4}, {Text: " ", Offset: 7}}, whole: true},
		{in: "x-${{ a }}-${{ b }}", want: []Segment{
			{Text: "x-"}, {Text: "a", Expr: true, Offset: 6}, {Text: "-", Offset: 10}, {Text: "b", Expr: true, Offset: 15},
		}},
		{in: "${{ {'k': {'n': 1}}['k'] }}", want: []Segment{{Text: "{'k': {'n': 1}}['k']", Expr: true, Offset: 4}}, whole: true},
		{in: `${{ "}}" + 'a\'}}' }}`, want: []Segment{{Text: `"}}" + 'a\'}}'`, Expr: true, Offset: 4}}, whole: true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Segments); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
			if got.Whole() != tc.whole {
				t.Errorf("Whole() = %v, want %v", got.Whole(), tc.whole)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in     string
		msg    string
		offset int
	}{
		{"a ${{ b", "unclosed ${{: expected }}", 2},
		{"${{ }}", "empty expression ${{ }}", 0},
		{"${{ 'open }}", "unterminated string literal in ${{ expression", 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			te, ok := err.(*Error)
			if !ok {
				t.Fatalf("err = %v, want *Error", err)
			}
			if te.Msg != tc.msg || te.Offset != tc.offset {
				t.Errorf("got %q at %d, want %q at %d", te.Msg, te.Offset, tc.msg, tc.offset)
			}
		})
	}
}
