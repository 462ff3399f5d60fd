package search

import (
	"math/rand/v2"
	"sort"
)

var _ Method = (*Evolve)(nil)

// Evolve is a genetic search: a random first generation, then children of
// tournament-selected parents by uniform crossover of axes and a one-axis
// mutation, never proposing a point twice.
type Evolve struct {
	Population int     // points per generation; 0 means 12
	Mutation   float64 // probability a child is mutated; 0 means 0.5

	idx    pointIndex
	r      *rand.Rand
	tried  []bool
	left   int
	scored []scored // every observed point
	last   int
	made   int // points proposed
}

type scored struct {
	i     int
	score float64
}

func (m *Evolve) Init(legal []Point, seed uint64) {
	m.idx = newPointIndex(legal)
	m.r = rand.New(rand.NewPCG(seed, 0xe701e))
	m.tried = make([]bool, len(legal))
	m.left, m.scored, m.made = len(legal), nil, 0
}

func (m *Evolve) pop() int {
	if m.Population > 0 {
		return m.Population
	}
	return 12
}

func (m *Evolve) Next() (Point, bool) {
	if m.left == 0 {
		return Point{}, false
	}
	i := -1
	if m.made >= m.pop() && len(m.scored) >= 2 {
		for try := 0; try < 16 && i < 0; try++ {
			a, b := m.tournament(), m.tournament()
			c := m.idx.cross(m.r, a, b)
			if c < 0 {
				c = a
			}
			mut := m.Mutation
			if mut <= 0 {
				mut = 0.5
			}
			if m.r.Float64() < mut || m.tried[c] {
				c = m.idx.neighbour(m.r, c)
			}
			if c >= 0 && !m.tried[c] {
				i = c
			}
		}
	}
	if i < 0 {
		i = untried(m.r, m.tried, m.left)
	}
	m.tried[i] = true
	m.left--
	m.last = i
	m.made++
	return m.idx.legal[i], true
}

// tournament returns the best of three random points among the best
// Population observed so far.
func (m *Evolve) tournament() int {
	elite := append([]scored(nil), m.scored...)
	sort.Slice(elite, func(a, b int) bool { return elite[a].score > elite[b].score })
	elite = elite[:min(len(elite), m.pop())]
	best := elite[m.r.IntN(len(elite))]
	for k := 0; k < 2; k++ {
		if c := elite[m.r.IntN(len(elite))]; c.score > best.score {
			best = c
		}
	}
	return best.i
}

func (m *Evolve) Observe(res Result) {
	score := res.Score
	if res.Status != OK {
		score = 0
	}
	m.scored = append(m.scored, scored{m.last, score})
}
