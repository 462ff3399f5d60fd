package search

import "math/rand/v2"

var _ Method = (*Local)(nil)

// Local is a hill climber: a few random points, then every untried
// neighbour of the best point so far (points that differ from it in one
// axis, or in the fewest where constraints tie that axis to others),
// moving whenever a neighbour beats it. When no neighbour of the best
// point is left untried it restarts from a random untried point, so with no
// budget it still visits every legal point.
type Local struct {
	// Starts is the number of random points tried before climbing; 0 means 8.
	Starts int

	idx    pointIndex
	tried  []bool
	order  []int // random order for starts and restarts
	next   int   // position in order
	queue  []int // neighbours of the best point, to try next
	best   *Result
	bestAt int
	last   int
	climb  bool
}

func (m *Local) Init(legal []Point, seed uint64) {
	m.idx = newPointIndex(legal)
	m.tried = make([]bool, len(legal))
	r := rand.New(rand.NewPCG(seed, 0x2545f4914f6cdd1d))
	m.order = r.Perm(len(legal))
	m.next, m.queue, m.best, m.bestAt, m.climb = 0, nil, nil, -1, false
}

func (m *Local) Next() (Point, bool) {
	starts := m.Starts
	if starts <= 0 {
		starts = 8
	}
	if m.next >= starts && !m.climb && m.bestAt >= 0 {
		m.climb = true
		m.queue = m.neighbours(m.bestAt)
	}
	for len(m.queue) > 0 {
		i := m.queue[0]
		m.queue = m.queue[1:]
		if !m.tried[i] {
			return m.take(i), true
		}
	}
	for m.next < len(m.order) {
		i := m.order[m.next]
		m.next++
		if !m.tried[i] {
			// A restart: climb again from whatever wins next.
			m.climb = false
			return m.take(i), true
		}
	}
	return Point{}, false
}

func (m *Local) take(i int) Point {
	m.tried[i] = true
	m.last = i
	return m.idx.legal[i]
}

func (m *Local) Observe(r Result) {
	if !r.Better(m.best) {
		return
	}
	m.best = &r
	m.bestAt = m.last
	if m.climb {
		// Move: climb from the new best point.
		m.queue = m.neighbours(m.last)
	}
}

// neighbours lists the untried neighbours of legal[i] (pointIndex.neighbours).
func (m *Local) neighbours(i int) []int {
	var out []int
	for _, j := range m.idx.neighbours(i) {
		if !m.tried[j] {
			out = append(out, j)
		}
	}
	return out
}
