package search

import "math/rand/v2"

// pointIndex maps IDs of legal points to their positions, for the methods
// that move between neighbouring points.
type pointIndex struct {
	legal []Point
	byID  map[string]int
	// withValue lists, per axis and value, the legal points that hold it.
	withValue [][][]int
}

func newPointIndex(legal []Point) pointIndex {
	x := pointIndex{legal: legal, byID: make(map[string]int, len(legal))}
	for i, p := range legal {
		x.byID[p.ID()] = i
		if x.withValue == nil {
			x.withValue = make([][][]int, len(p.idx))
			for d, a := range p.space.Axes {
				x.withValue[d] = make([][]int, len(a.Values))
			}
		}
		for d, v := range p.idx {
			x.withValue[d][v] = append(x.withValue[d][v], i)
		}
	}
	return x
}

// nearest returns the legal point that holds value v on axis d and is
// otherwise closest to legal[i]: the point one axis away where that is
// legal, else the one that moves the fewest other axes, and of those the
// least far along them; -1 if no legal point holds v. Constraints tie axes
// together (an unstaged matmul keeps tk=4 and no prefetch), and without
// this a staged point with tk=16 would have no unstaged neighbour at all,
// so no climb could cross from one kind of kernel to the other.
func (x pointIndex) nearest(i, d, v int) int {
	p := x.legal[i]
	best, bestMoved, bestFar := -1, 0, 0
	for _, j := range x.withValue[d][v] {
		moved, far := 0, 0
		for e, w := range x.legal[j].idx {
			if e == d || w == p.idx[e] {
				continue
			}
			moved++
			far += abs(w - p.idx[e])
		}
		if best < 0 || moved < bestMoved || moved == bestMoved && far < bestFar {
			best, bestMoved, bestFar = j, moved, far
			if moved == 0 {
				break
			}
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// neighbours lists, for every axis and every other value of it, the
// nearest legal point that takes that value (see nearest), each once.
func (x pointIndex) neighbours(i int) []int {
	p := x.legal[i]
	var out []int
	seen := map[int]bool{i: true}
	for d := range p.idx {
		for v := range p.space.Axes[d].Values {
			if v == p.idx[d] {
				continue
			}
			if j := x.nearest(i, d, v); j >= 0 && !seen[j] {
				seen[j] = true
				out = append(out, j)
			}
		}
	}
	return out
}

// neighbour returns a random legal point one axis away from legal[i],
// or, after a few tries find none, the nearest legal point taking a
// random other value of a random axis (see nearest); -1 if neither.
// Random moves stay one axis long where they can: annealing and mutation
// are tuned to small steps.
func (x pointIndex) neighbour(r *rand.Rand, i int) int {
	p := x.legal[i]
	var d, v int
	for try := 0; try < 32; try++ {
		d = r.IntN(len(p.idx))
		n := len(p.space.Axes[d].Values)
		if n < 2 {
			continue
		}
		v = (p.idx[d] + 1 + r.IntN(n-1)) % n
		q := Point{space: p.space, idx: append([]int(nil), p.idx...)}
		q.idx[d] = v
		if j, ok := x.byID[q.ID()]; ok {
			return j
		}
	}
	if len(p.space.Axes[d].Values) < 2 {
		return -1
	}
	if j := x.nearest(i, d, v); j >= 0 && j != i {
		return j
	}
	return -1
}

// cross mixes two legal points axis by axis and returns the child if legal.
func (x pointIndex) cross(r *rand.Rand, a, b int) int {
	pa, pb := x.legal[a], x.legal[b]
	q := Point{space: pa.space, idx: make([]int, len(pa.idx))}
	for d := range q.idx {
		q.idx[d] = pa.idx[d]
		if r.IntN(2) == 1 {
			q.idx[d] = pb.idx[d]
		}
	}
	if j, ok := x.byID[q.ID()]; ok {
		return j
	}
	return -1
}

// features places a point in the unit cube: each axis's value index scaled
// to [0, 1]. Axes are ordered (sizes, widths), so index order is a sensible
// distance for a model.
func features(p Point) []float64 {
	f := make([]float64, len(p.idx))
	for d, a := range p.space.Axes {
		if n := len(a.Values); n > 1 {
			f[d] = float64(p.idx[d]) / float64(n-1)
		}
	}
	return f
}

// spread returns an untried legal point for the k-th of a run's starting
// points: it aims, on each axis, at the k-th value of that axis's random
// order of values (cycling), and takes a legal point holding the most of
// those aims (ties at random). Over the starts, each axis's values come up
// about equally often where the legal points allow, where uniform starts
// would follow the legal points' mix. Where constraints tie axes together
// the aims of the tied axes compete, and a value few points hold can still
// be missed (an unstaged matmul keeps tk=4 and no prefetch). order holds
// each axis's value order.
func (x pointIndex) spread(r *rand.Rand, order [][]int, k int, tried []bool) int {
	target := make([]int, len(order))
	for d, o := range order {
		target[d] = o[k%len(o)]
	}
	best, bestHits, ties := -1, -1, 0
	for j, q := range x.legal {
		if tried[j] {
			continue
		}
		hits := 0
		for d, v := range q.idx {
			if v == target[d] {
				hits++
			}
		}
		switch {
		case hits > bestHits:
			best, bestHits, ties = j, hits, 1
		case hits == bestHits:
			// Reservoir sampling: each of the tied points equally likely.
			ties++
			if r.IntN(ties) == 0 {
				best = j
			}
		}
	}
	return best
}

// valueOrders draws a random order of each axis's values, for spread.
func (x pointIndex) valueOrders(r *rand.Rand) [][]int {
	if len(x.legal) == 0 {
		return nil
	}
	axes := x.legal[0].space.Axes
	order := make([][]int, len(axes))
	for d, a := range axes {
		order[d] = r.Perm(len(a.Values))
	}
	return order
}

// diagonals lists the legal points two axes away from legal[i], each axis
// one value along (up or down). Two kernels of equal speed can differ in
// axes that trade against each other (a wider workgroup with a narrower
// register block covers the same tile), and where the points one axis
// away from both are slower, no climb of single steps gets from one to
// the other.
func (x pointIndex) diagonals(i int) []int {
	p := x.legal[i]
	var out []int
	q := Point{space: p.space, idx: make([]int, len(p.idx))}
	for d := range p.idx {
		for e := d + 1; e < len(p.idx); e++ {
			for _, sd := range [2]int{-1, 1} {
				for _, se := range [2]int{-1, 1} {
					copy(q.idx, p.idx)
					q.idx[d] += sd
					q.idx[e] += se
					if q.idx[d] < 0 || q.idx[d] >= len(p.space.Axes[d].Values) ||
						q.idx[e] < 0 || q.idx[e] >= len(p.space.Axes[e].Values) {
						continue
					}
					if j, ok := x.byID[q.ID()]; ok {
						out = append(out, j)
					}
				}
			}
		}
	}
	return out
}
