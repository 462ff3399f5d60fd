package search

import "math/rand/v2"

// Method proposes the order in which legal points are evaluated.
type Method interface {
	// Init starts a run over the legal points; seed fixes any randomness.
	Init(legal []Point, seed uint64)
	// Next returns the next point to evaluate, or false when the method
	// has nothing more to propose.
	Next() (Point, bool)
	// Observe reports the result of the point Next last returned.
	Observe(Result)
}

// Budgeted is a Method that plans for the evaluations a run allows: Run
// calls Budget after Init when the run has a limit on evaluations.
type Budgeted interface {
	Method
	Budget(evals int)
}

// Primed is a Method that can begin from given points: Run calls Prime
// after Init with Settings.Starts. Points that are not legal are ignored.
type Primed interface {
	Method
	Prime(first []Point)
}

// Reobserver is a Method that takes a point's result again when Run
// measured it anew, the machine having drifted under the first
// measurement: the new result replaces what it observed, so later
// proposals follow the settled measurement.
type Reobserver interface {
	Method
	Reobserve(Result)
}

var (
	_ Method = (*Exhaustive)(nil)
	_ Method = (*Random)(nil)
)

// Exhaustive proposes every legal point in index order.
type Exhaustive struct {
	points []Point
	next   int
}

func (m *Exhaustive) Init(legal []Point, _ uint64) { m.points, m.next = legal, 0 }

func (m *Exhaustive) Next() (Point, bool) {
	if m.next >= len(m.points) {
		return Point{}, false
	}
	m.next++
	return m.points[m.next-1], true
}

func (m *Exhaustive) Observe(Result) {}

// Random proposes every legal point once, in an order fixed by the seed.
type Random struct {
	Exhaustive
}

func (m *Random) Init(legal []Point, seed uint64) {
	points := append([]Point(nil), legal...)
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	r.Shuffle(len(points), func(i, j int) { points[i], points[j] = points[j], points[i] })
	m.Exhaustive.Init(points, seed)
}

// NewMethod returns the method with the given name, one of MethodNames.
func NewMethod(name string) (Method, bool) {
	switch name {
	case "exhaustive":
		return &Exhaustive{}, true
	case "random":
		return &Random{}, true
	case "local":
		return &Local{}, true
	case "anneal":
		return &Anneal{}, true
	case "evolve":
		return &Evolve{}, true
	case "bayes":
		return &Bayes{}, true
	}
	return nil, false
}

// MethodNames lists the names NewMethod accepts.
var MethodNames = []string{"exhaustive", "random", "local", "anneal", "evolve", "bayes"}
