package search_test

import (
	"context"
	"testing"

	"github.com/tune-gpu/tune/search"
)

// On a smooth score the hill climber finds the optimum with a small
// fraction of the evaluations exhaustive search needs.
func TestLocalFindsSmoothOptimumQuickly(t *testing.T) {
	space := &search.Space{Axes: []search.Axis{
		search.Ints("a", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		search.Ints("b", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		search.Ints("c", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
	}}
	score := func(p search.Point) float64 {
		da, db, dc := p.Int("a")-7, p.Int("b")-2, p.Int("c")-5
		return 1000 - float64(da*da+db*db+dc*dc)
	}
	for seed := uint64(1); seed <= 10; seed++ {
		e := &fakeEval{score: score}
		sum, err := search.Run(context.Background(), search.Task{Name: "t"}, space, &search.Local{}, e, search.Settings{MaxEvals: 100, Seed: seed}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Best == nil || sum.Best.ID != "a=7/b=2/c=5" {
			t.Errorf("seed %d: best %v after 100 of 1000 points; want a=7/b=2/c=5", seed, sum.Best)
		}
	}
}

// With no budget the hill climber visits every legal point exactly once.
func TestLocalVisitsEveryPointOnce(t *testing.T) {
	space := gridSpace(6)
	space.Constraints = []search.Constraint{{Name: "a != b", OK: func(p search.Point) bool { return p.Int("a") != p.Int("b") }}}
	e := &fakeEval{score: func(p search.Point) float64 { return float64((p.Index() * 7) % 11) }}
	sum, err := search.Run(context.Background(), search.Task{Name: "t"}, space, &search.Local{Starts: 3}, e, search.Settings{Seed: 4}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, id := range e.Calls() {
		if seen[id] {
			t.Errorf("%s evaluated twice", id)
		}
		seen[id] = true
	}
	if len(seen) != len(space.Legal()) || sum.Status != search.Exhausted {
		t.Errorf("visited %d of %d legal points, status %s", len(seen), len(space.Legal()), sum.Status)
	}
}
