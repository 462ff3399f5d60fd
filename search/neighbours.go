package search

import "math/rand/v2"

// pointIndex maps IDs of legal points to their positions, for the methods
// that move between neighbouring points.
type pointIndex struct {
	legal []Point
	byID  map[string]int
}

func newPointIndex(legal []Point) pointIndex {
	byID := make(map[string]int, len(legal))
	for i, p := range legal {
		byID[p.ID()] = i
	}
	return pointIndex{legal, byID}
}

// neighbours lists every legal point that differs from legal[i] in one
// axis.
func (x pointIndex) neighbours(i int) []int {
	p := x.legal[i]
	var out []int
	for d := range p.idx {
		for v := range p.space.Axes[d].Values {
			if v == p.idx[d] {
				continue
			}
			q := Point{space: p.space, idx: append([]int(nil), p.idx...)}
			q.idx[d] = v
			if j, ok := x.byID[q.ID()]; ok {
				out = append(out, j)
			}
		}
	}
	return out
}

// neighbour returns a random legal point that differs from legal[i] in one
// axis, or -1 after a few failed tries.
func (x pointIndex) neighbour(r *rand.Rand, i int) int {
	p := x.legal[i]
	for try := 0; try < 32; try++ {
		d := r.IntN(len(p.idx))
		n := len(p.space.Axes[d].Values)
		if n < 2 {
			continue
		}
		q := Point{space: p.space, idx: append([]int(nil), p.idx...)}
		q.idx[d] = (q.idx[d] + 1 + r.IntN(n-1)) % n
		if j, ok := x.byID[q.ID()]; ok {
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
