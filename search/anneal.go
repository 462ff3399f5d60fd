package search

import (
	"math"
	"math/rand/v2"
)

var _ Method = (*Anneal)(nil)

// Anneal is simulated annealing over neighbouring points (one axis
// changed). A worse neighbour is accepted with probability
// exp(-loss/T), loss being its relative shortfall from the current point;
// T falls geometrically from Start to End over Steps proposals, then the
// walk restarts hot from the best point.
type Anneal struct {
	Start, End float64 // temperatures; zero values mean 0.3 and 0.01
	Steps      int     // proposals per cooling; 0 means 60

	idx      pointIndex
	r        *rand.Rand
	tried    []bool
	left     int
	cur      int
	curScore float64
	best     int
	bestSc   float64
	last     int
	step     int
}

func (m *Anneal) Init(legal []Point, seed uint64) {
	m.idx = newPointIndex(legal)
	m.r = rand.New(rand.NewPCG(seed, 0xa11ea1))
	m.tried = make([]bool, len(legal))
	m.left = len(legal)
	m.cur, m.best, m.last, m.step = -1, -1, -1, 0
	m.curScore, m.bestSc = 0, 0
}

func (m *Anneal) temperature() float64 {
	start, end, steps := m.Start, m.End, m.Steps
	if start <= 0 {
		start = 0.3
	}
	if end <= 0 {
		end = 0.01
	}
	if steps <= 0 {
		steps = 60
	}
	frac := float64(m.step%steps) / float64(steps)
	return start * math.Pow(end/start, frac)
}

func (m *Anneal) Next() (Point, bool) {
	if m.left == 0 {
		return Point{}, false
	}
	i := -1
	if m.cur >= 0 {
		for try := 0; try < 8 && i < 0; try++ {
			if j := m.idx.neighbour(m.r, m.cur); j >= 0 && !m.tried[j] {
				i = j
			}
		}
	}
	if i < 0 {
		i = untried(m.r, m.tried, m.left)
	}
	m.tried[i] = true
	m.left--
	m.last = i
	return m.idx.legal[i], true
}

// untried picks a uniformly random untried index; left counts them.
func untried(r *rand.Rand, tried []bool, left int) int {
	k := r.IntN(left)
	for i, t := range tried {
		if !t {
			if k == 0 {
				return i
			}
			k--
		}
	}
	panic("search: no untried point")
}

func (m *Anneal) Observe(res Result) {
	m.step++
	score := res.Score
	if res.Status != OK {
		score = 0
	}
	if score > m.bestSc || m.best < 0 {
		m.best, m.bestSc = m.last, score
	}
	switch {
	case m.cur < 0 || score >= m.curScore:
		m.cur, m.curScore = m.last, score
	case m.curScore > 0 && m.r.Float64() < math.Exp(-(m.curScore-score)/m.curScore/m.temperature()):
		m.cur, m.curScore = m.last, score
	}
	if steps := max(m.Steps, 60); m.step%steps == 0 {
		m.cur, m.curScore = m.best, m.bestSc // reheat from the best point
	}
}
