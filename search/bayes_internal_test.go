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
