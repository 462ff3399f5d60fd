package search

import (
	"math"
	"testing"
)

// Reobserve replaces the observation of the point measured anew, and only it.
func TestBayesReobserveReplacesTheObservation(t *testing.T) {
	vals := []int{0, 1, 2, 3}
	sp := &Space{Axes: []Axis{Ints("a", vals...), Ints("b", vals...)}}
	m := &Bayes{}
	m.Init(sp.Legal(), 1)
	var ids []string
	for k := range 5 {
		p, _ := m.Next()
		ids = append(ids, p.ID())
		m.Observe(Result{ID: p.ID(), Status: OK, Score: float64(k + 1)})
	}
	m.Reobserve(Result{ID: ids[2], Status: OK, Score: 100})
	m.Reobserve(Result{ID: ids[3], Status: Rejected})
	for k, y := range m.obsY {
		want := math.Log(float64(k + 1))
		switch k {
		case 2:
			want = math.Log(100)
		case 3:
			want = math.NaN()
		}
		if y != want && !(math.IsNaN(y) && math.IsNaN(want)) {
			t.Errorf("observation %d (%s): log score %g, want %g", k, ids[k], y, want)
		}
	}
}

// With a budget and core axes, the quarter before the climb proposes
// points that keep the best point's other axes, but for its neighbour
// steps; without core axes it does not.
func TestBayesSearchesTheSliceThroughTheBest(t *testing.T) {
	vals := []int{0, 1, 2, 3, 4, 5}
	score := func(p Point) float64 {
		return 100 - float64((p.Int("a")-4)*(p.Int("a")-4)+(p.Int("b")-1)*(p.Int("b")-1)+p.Int("c")+2*p.Int("d"))
	}
	for _, core := range [][]string{{"a", "b"}, nil} {
		sp := &Space{Axes: []Axis{Ints("a", vals...), Ints("b", vals...), Ints("c", vals...), Ints("d", vals...)}, Core: core}
		m := &Bayes{}
		m.Init(sp.Legal(), 3)
		const evals = 40
		m.Budget(evals)
		inSlice := 0
		var best Point
		bestScore := math.Inf(-1)
		for k := range evals {
			p, ok := m.Next()
			if !ok {
				t.Fatal("space exhausted")
			}
			if k >= evals/2 && k < evals-evals/4 && p.Int("c") == best.Int("c") && p.Int("d") == best.Int("d") {
				inSlice++
			}
			s := score(p)
			if s > bestScore {
				best, bestScore = p, s
			}
			m.Observe(Result{ID: p.ID(), Status: OK, Score: s})
		}
		t.Logf("core %v: %d of the %d proposals before the climb kept the best point's other axes", core, inSlice, evals/4)
		if core != nil && inSlice < evals/4*2/3 {
			t.Errorf("core %v: %d of the %d proposals before the climb kept the best point's other axes, want at least %d", core, inSlice, evals/4, evals/4*2/3)
		}
		if core == nil && inSlice >= evals/4*2/3 {
			t.Errorf("no core axes: %d of the %d proposals before the climb kept the best point's other axes", inSlice, evals/4)
		}
	}
}
