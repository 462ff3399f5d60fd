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

// neighbour returns the nearest legal point taking a random other value of
// a random axis, or -1 after a few failed tries.
func (x pointIndex) neighbour(r *rand.Rand, i int) int {
	p := x.legal[i]
	for try := 0; try < 32; try++ {
		d := r.IntN(len(p.idx))
		n := len(p.space.Axes[d].Values)
		if n < 2 {
			continue
		}
		v := (p.idx[d] + 1 + r.IntN(n-1)) % n
		if j := x.nearest(i, d, v); j >= 0 && j != i {
			return j
		}
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
// points, chosen so that the starts between them hold every value of
// every axis about equally often: the k-th takes, on each axis, the k-th
// value of that axis's random order of values (cycling), or as many of
// them as a legal point can. Uniform starts would follow the legal
// points' mix instead, where constraints can leave a value rare (an
// unstaged matmul is one point in seven) and a whole kind of kernel
// unseen by the model. order holds each axis's value order.
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
