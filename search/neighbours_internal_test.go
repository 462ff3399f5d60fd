package search

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// kindSpace ties axes together as the matmul space does: an unstaged
// kernel keeps tk=4 and no prefetch, so unstaged points are 1 in 7.
func kindSpace() *Space {
	return &Space{
		Axes: []Axis{Bools("staged"), Ints("tk", 4, 8, 16), Bools("prefetch"), Ints("wg", 8, 16, 32, 64)},
		Constraints: []Constraint{{Name: "unstaged: tk=4, no prefetch", OK: func(p Point) bool {
			return p.Bool("staged") || p.Int("tk") == 4 && !p.Bool("prefetch")
		}}},
	}
}

// kindSteps lists the IDs steps gives for the point from of kindSpace.
func kindSteps(t *testing.T, from string, steps func(pointIndex, int) []int) []string {
	t.Helper()
	sp := kindSpace()
	x := newPointIndex(sp.Legal())
	p, err := sp.Parse(from)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range steps(x, x.byID[p.ID()]) {
		ids = append(ids, x.legal[j].ID())
	}
	return ids
}

func TestNeighboursCrossConstraints(t *testing.T) {
	const from = "staged=true/tk=16/prefetch=true/wg=32"
	got := kindSteps(t, from, pointIndex.neighbours)
	for _, want := range []string{
		"staged=false/tk=4/prefetch=false/wg=32", // staged moved, tk and prefetch with it
		"staged=true/tk=8/prefetch=true/wg=32",   // one axis where that is legal
		"staged=true/tk=16/prefetch=true/wg=64",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("neighbours of %s lack %s: %v", from, want, got)
		}
	}
	if len(got) != 1+2+1+3 {
		t.Errorf("%d neighbours, want one per other value of each axis (7): %v", len(got), got)
	}
}

// Every value of an axis no constraint ties comes up among eight starts.
func TestSpreadStartsHoldEveryValue(t *testing.T) {
	sp := kindSpace()
	legal := sp.Legal()
	x := newPointIndex(legal)
	for seed := uint64(0); seed < 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		order := x.valueOrders(r)
		tried := make([]bool, len(legal))
		count := map[string]int{}
		for k := range 8 {
			j := x.spread(r, order, k, tried)
			if j < 0 || tried[j] {
				t.Fatalf("seed %d start %d: %d, want an untried point", seed, k, j)
			}
			tried[j] = true
			for name, v := range legal[j].Params() {
				count[name+"="+v]++
			}
		}
		for _, wg := range []string{"8", "16", "32", "64"} {
			if count["wg="+wg] == 0 {
				t.Errorf("seed %d: no start with wg=%s (%v)", seed, wg, count)
			}
		}
	}
}

// Diagonals move two axes one value each, and only to legal points.
func TestDiagonals(t *testing.T) {
	const from = "staged=true/tk=8/prefetch=true/wg=32"
	got := kindSteps(t, from, pointIndex.diagonals)
	// Unstaging needs tk=4 and no prefetch at once: three axes, never a diagonal.
	want := []string{
		"staged=true/tk=4/prefetch=false/wg=32", "staged=true/tk=16/prefetch=false/wg=32",
		"staged=true/tk=4/prefetch=true/wg=16", "staged=true/tk=4/prefetch=true/wg=64",
		"staged=true/tk=16/prefetch=true/wg=16", "staged=true/tk=16/prefetch=true/wg=64",
		"staged=true/tk=8/prefetch=false/wg=16", "staged=true/tk=8/prefetch=false/wg=64",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("diagonals of %s:\n got %v\nwant %v", from, got, want)
	}
}
