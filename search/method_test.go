package search_test

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/tune-gpu/tune/search"
)

// drain calls Next until it returns false, failing if it never does.
func drain(t *testing.T, m search.Method) []string {
	t.Helper()
	var out []string
	for range 100000 {
		p, ok := m.Next()
		if !ok {
			// Once exhausted, a method stays exhausted.
			if _, ok := m.Next(); ok {
				t.Errorf("Next returned a point after returning false")
			}
			return out
		}
		out = append(out, p.ID())
		m.Observe(search.Result{ID: p.ID(), Status: search.OK})
	}
	t.Fatalf("method never ran out of points")
	return nil
}

func constrainedGrid(n int) *search.Space {
	s := gridSpace(n)
	s.Constraints = []search.Constraint{{
		Name: "a != b",
		OK:   func(p search.Point) bool { return p.Int("a") != p.Int("b") },
	}}
	return s
}

func TestExhaustive(t *testing.T) {
	tests := []struct {
		name  string
		space *search.Space
	}{
		{"grid", gridSpace(3)},
		{"constrained", constrainedGrid(4)},
		{"nothing legal", &search.Space{Axes: gridSpace(2).Axes, Constraints: []search.Constraint{{Name: "no", OK: func(search.Point) bool { return false }}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			legal := tt.space.Legal()
			m := &search.Exhaustive{}
			m.Init(legal, 7)
			if got, want := drain(t, m), ids(legal); !slices.Equal(got, want) {
				t.Errorf("Exhaustive proposed %v\nwant %v", got, want)
			}
			// Init restarts the method.
			m.Init(legal, 7)
			if got, want := drain(t, m), ids(legal); !slices.Equal(got, want) {
				t.Errorf("after re-Init, Exhaustive proposed %v\nwant %v", got, want)
			}
		})
	}
}

func randomOrder(t *testing.T, legal []search.Point, seed uint64) []string {
	t.Helper()
	m := &search.Random{}
	m.Init(legal, seed)
	return drain(t, m)
}

func TestRandomIsPermutation(t *testing.T) {
	for _, space := range []*search.Space{gridSpace(1), gridSpace(3), constrainedGrid(6)} {
		legal := space.Legal()
		want := ids(legal)
		for _, seed := range []uint64{0, 1, 2, 12345} {
			got := randomOrder(t, legal, seed)
			if len(got) != len(want) {
				t.Fatalf("seed %d: %d points proposed, want %d", seed, len(got), len(want))
			}
			sorted := slices.Clone(got)
			slices.Sort(sorted)
			sortedWant := slices.Clone(want)
			slices.Sort(sortedWant)
			if !slices.Equal(sorted, sortedWant) {
				t.Errorf("seed %d: Random proposed %v, not a permutation of %v", seed, got, want)
			}
		}
	}
}

func TestRandomDoesNotModifyLegal(t *testing.T) {
	legal := gridSpace(5).Legal()
	before := ids(legal)
	randomOrder(t, legal, 3)
	if got := ids(legal); !slices.Equal(got, before) {
		t.Errorf("Random.Init reordered its argument")
	}
}

func TestRandomSeed(t *testing.T) {
	// 100 points: two seeds agree on the order with probability 1/100!.
	legal := gridSpace(10).Legal()
	a := randomOrder(t, legal, 1)
	if b := randomOrder(t, legal, 1); !slices.Equal(a, b) {
		t.Errorf("same seed, different orders:\n%v\n%v", a, b)
	}
	if c := randomOrder(t, legal, 2); slices.Equal(a, c) {
		t.Errorf("seeds 1 and 2 gave the same order %v", a)
	}
	if slices.Equal(a, ids(legal)) {
		t.Errorf("Random proposed points in index order")
	}
}

func TestNewMethod(t *testing.T) {
	tests := []struct {
		name string
		want string // the method's type, "" when name is unknown
	}{
		{"exhaustive", "*search.Exhaustive"},
		{"random", "*search.Random"},
		{"Exhaustive", ""},
		{"", ""},
		{"local", "*search.Local"},
		{"anneal", "*search.Anneal"},
		{"evolve", "*search.Evolve"},
		{"bayes", "*search.Bayes"},
		{"gradient", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := search.NewMethod(tt.name)
			if ok != (tt.want != "") {
				t.Fatalf("NewMethod(%q) ok = %v, want %v", tt.name, ok, tt.want != "")
			}
			if !ok {
				if m != nil {
					t.Errorf("NewMethod(%q) = %T, want nil", tt.name, m)
				}
				return
			}
			if got := fmt.Sprintf("%T", m); got != tt.want {
				t.Errorf("NewMethod(%q) = %s, want %s", tt.name, got, tt.want)
			}
		})
	}
	for _, name := range search.MethodNames {
		if _, ok := search.NewMethod(name); !ok {
			t.Errorf("MethodNames lists %q but NewMethod rejects it", name)
		}
	}
}

// Bayes spends every third model-guided proposal on an untried neighbour of
// one of the three best points observed so far that have any: a point one
// axis away, or one step along both axes where those are all tried.
func TestBayesNeighbourSteps(t *testing.T) {
	m := &search.Bayes{Starts: 4}
	checkClimbs(t, m, 40, func(n int) bool { k := n - 4; return k >= 0 && k%3 == 2 })
}

// Told its budget, Bayes climbs through the last quarter of it.
func TestBayesClimbsAtTheEndOfItsBudget(t *testing.T) {
	m := &search.Bayes{Starts: 4}
	checkClimbs(t, m, 40, func(n int) bool { k := n - 4; return k >= 0 && k%3 == 2 || n >= 30 })
}

// Primed, Bayes proposes the legal starts first, in order, each once, then
// its own points, and still proposes every point exactly once.
func TestBayesProposesItsStartsFirst(t *testing.T) {
	sp := gridSpace(8)
	legal := sp.Legal()
	parse := func(s *search.Space, id string) search.Point {
		p, err := s.Parse(id)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	starts := []search.Point{
		parse(sp, "a=6/b=1"),
		parse(gridSpace(9), "a=8/b=8"), // not a point of this space
		parse(sp, "a=2/b=7"),
		parse(sp, "a=6/b=1"),
	}
	m := &search.Bayes{Starts: 4}
	m.Init(legal, 3)
	m.Prime(starts)
	var got []string
	for {
		p, ok := m.Next()
		if !ok {
			break
		}
		got = append(got, p.ID())
		m.Observe(search.Result{Status: search.OK, Score: float64(1 + p.Int("a") + p.Int("b"))})
	}
	if len(got) < 2 || got[0] != "a=6/b=1" || got[1] != "a=2/b=7" {
		t.Errorf("first proposals %v, want a=6/b=1 then a=2/b=7", got[:min(len(got), 4)])
	}
	if want := ids(legal); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("proposed %d points, want each of the %d legal points once", len(got), len(want))
	}
}

// checkClimbs runs m over an 8x8 grid with one peak for evals proposals,
// telling it the budget, and checks that every proposal n for which climb
// holds is a neighbour of one of the three best observed points that have
// untried neighbours: one axis away, or where a point's are all tried one
// step along both; and that the peak is found.
func checkClimbs(t *testing.T, m *search.Bayes, evals int, climb func(n int) bool) {
	t.Helper()
	legal := gridSpace(8).Legal()
	m.Init(legal, 7)
	if climb(evals - 1) {
		m.Budget(evals)
	}
	score := func(p search.Point) float64 { // one peak at a=5, b=2
		da, db := float64(p.Int("a")-5), float64(p.Int("b")-2)
		return 100 / (1 + da*da + db*db)
	}
	oneAxis := func(p, q search.Point) bool {
		return (p.Int("a") != q.Int("a")) != (p.Int("b") != q.Int("b"))
	}
	diagonal := func(p, q search.Point) bool {
		da, db := p.Int("a")-q.Int("a"), p.Int("b")-q.Int("b")
		return (da == 1 || da == -1) && (db == 1 || db == -1)
	}
	var seen []search.Point // best first
	tried := map[string]bool{}
	for n := 0; n < evals; n++ {
		p, ok := m.Next()
		if !ok {
			t.Fatalf("proposal %d: none", n)
		}
		if climb(n) {
			// The three best observed points with untried neighbours: one
			// axis away where a point has one, else one step along both.
			var from []search.Point
			ok := false
			for i := 0; i < len(seen) && len(from) < 3; i++ {
				for _, near := range []func(p, q search.Point) bool{oneAxis, diagonal} {
					if !slices.ContainsFunc(legal, func(q search.Point) bool { return !tried[q.ID()] && near(q, seen[i]) }) {
						continue
					}
					from = append(from, seen[i])
					ok = ok || near(p, seen[i])
					break
				}
			}
			if !ok {
				t.Errorf("proposal %d: %s is not a neighbour of the three best points with untried neighbours %v (one axis away where a point has one)", n, p.ID(), ids(from))
			}
		}
		tried[p.ID()] = true
		seen = append(seen, p)
		slices.SortStableFunc(seen, func(a, b search.Point) int { return cmp.Compare(score(b), score(a)) })
		m.Observe(search.Result{Status: search.OK, Score: score(p)})
	}
	if best := seen[0]; score(best) != 100 {
		t.Errorf("best %s (%g) after %d of 64 points, want the peak a=5/b=2", best.ID(), score(best), evals)
	}
}

// One model-guided proposal with 300 observations over a 6,144-point space
// (a matmul space's size): the model's predictions at every untried point
// come from one triangular solve.
func BenchmarkBayesProposal(b *testing.B) {
	space := &search.Space{Axes: []search.Axis{
		search.Ints("a", 0, 1, 2, 3, 4, 5, 6, 7), search.Ints("b", 0, 1, 2, 3, 4, 5, 6, 7),
		search.Ints("c", 0, 1, 2, 3, 4, 5), search.Ints("d", 0, 1, 2, 3), search.Ints("e", 0, 1, 2, 3),
	}}
	score := func(p search.Point) float64 {
		return 1 / (1 + math.Abs(float64(p.Int("a")-5)) + math.Abs(float64(p.Int("c")-2)) + float64(p.Int("e")))
	}
	m := &search.Bayes{}
	m.Init(space.Legal(), 1)
	for range 300 {
		p, _ := m.Next()
		m.Observe(search.Result{Status: search.OK, Score: score(p)})
	}
	b.ResetTimer()
	for range b.N {
		p, ok := m.Next()
		if !ok {
			b.Fatal("space exhausted")
		}
		m.Observe(search.Result{Status: search.OK, Score: score(p)})
	}
}
