package check

import (
	"slices"
	"testing"

	"github.com/futurecalls/futurecalls/abi/signature"
)

// Workers finish in any order: whatever order the findings come in, a group samples
// the lowest ids and the reason of the lowest.
func TestCollectorSamplesTheLowestIDsInAnyOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ids  []int64
	}{
		{"ascending", []int64{1, 2, 3, 4, 5, 6, 7}},
		{"descending", []int64{7, 6, 5, 4, 3, 2, 1}},
		{"shuffled", []int64{5, 2, 7, 1, 6, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := collector{opts: Options{SampleIDs: 3}, groups: map[*target]*Group{}}
			tg := &target{plugin: "p", method: "m", kind: ArgsMismatch}
			for _, id := range tt.ids {
				c.add(finding{id: id, target: tg, err: &signature.Error{Method: "m",
					Violations: []signature.Violation{{Pointer: "/x", Message: string(rune('a' + id))}}}})
			}
			r := c.report()
			if len(r.Groups) != 1 {
				t.Fatalf("groups = %+v, want one", r.Groups)
			}
			g := r.Groups[0]
			if g.Count != 7 || !slices.Equal(g.SampleIDs, []int64{1, 2, 3}) {
				t.Errorf("count %d, samples %v: want 7 and [1 2 3]", g.Count, g.SampleIDs)
			}
			if want := "arguments do not fit the signature of m: /x: b"; g.Reason != want || g.Violations[0].Message != "b" {
				t.Errorf("reason %q, violations %v: want those of call 1 (%q)", g.Reason, g.Violations, want)
			}
		})
	}
}
