package search_test

import (
	"context"
	"fmt"

	"github.com/tune-gpu/tune/search"
)

// tileEval stands in for a device: it scores a point by how close the
// product of its tile sizes comes to 32 (1000 at best), and rejects tiles of 8 by 8.
type tileEval struct{}

func (tileEval) Kernel() string { return "tiles" }

func (tileEval) Evaluate(_ context.Context, p search.Point) search.Result {
	x, y := p.Int("x"), p.Int("y")
	if x == 8 && y == 8 {
		return search.Result{Status: search.Rejected, Reason: "too many registers"}
	}
	d := x*y - 32
	return search.Result{Status: search.OK, Score: float64(1000 - d*d)}
}

func ExampleRun() {
	space := &search.Space{
		Axes: []search.Axis{search.Ints("x", 1, 2, 4, 8), search.Ints("y", 1, 2, 4, 8)},
		Constraints: []search.Constraint{{
			Name: "x >= y",
			OK:   func(p search.Point) bool { return p.Int("x") >= p.Int("y") },
		}},
	}
	fmt.Println("size", space.Size(), "legal", len(space.Legal()))
	fmt.Println(space.Check(space.At(1)))

	task := search.Task{Name: "tiles/example", Env: "no-device"}
	sum, err := search.Run(context.Background(), task, space, &search.Exhaustive{}, tileEval{}, search.Settings{}, nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status", sum.Status, "evals", sum.Evals, "rejected", sum.Rejected)
	fmt.Println("best", sum.Best.ID, sum.Best.Status, sum.Best.Score)
	fmt.Println("runner-up", sum.RunnerUp().ID)
	// Output:
	// size 16 legal 10
	// x=1/y=2: violates x >= y
	// status exhausted evals 10 rejected 1
	// best x=8/y=4 ok 1000
	// runner-up x=4/y=4
}
