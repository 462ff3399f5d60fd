package search

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// Agreement says which reruns of a tune agree with the reference pick ref:
// a rerun agrees if it picked ref, or a point at most threshold slower than
// ref by ratios, each pick's time over ref's (PairedRatio).
func Agreement(picks []string, ref string, ratios map[string]float64, threshold float64) ([]bool, error) {
	out := make([]bool, len(picks))
	for i, id := range picks {
		if id == ref {
			out[i] = true
			continue
		}
		r, ok := ratios[id]
		if !ok {
			return nil, fmt.Errorf("agreement: no paired ratio of %s to the reference %s", id, ref)
		}
		out[i] = r <= 1+threshold
	}
	return out, nil
}

// PairedRatio re-times ref and p back to back in each of rounds rounds,
// the order alternating so that a steady drift of the device weighs on
// both alike, and returns the median over the rounds of p's median time
// over ref's, and how far the rounds' ratios scatter about it (their
// median absolute deviation, relative). Each ratio compares two
// measurements a moment apart, so a device that drifts over a run (a
// shared or throttling machine) still compares them fairly, which medians
// pooled over the whole run do not; the scatter says how finely it can.
func PairedRatio(ctx context.Context, rt Retimer, ref, p Point, rounds int) (ratio, scatter float64, err error) {
	if rounds < 1 {
		rounds = 1
	}
	ratios := make([]float64, 0, rounds)
	for r := range rounds {
		order := []Point{ref, p}
		if r%2 == 1 {
			order = []Point{p, ref}
		}
		var t [2]float64
		for i, q := range order {
			m, err := rt.Retime(ctx, q)
			if err != nil {
				return 0, 0, fmt.Errorf("paired ratio: re-timing %s: %w", q.ID(), err)
			}
			t[i] = m.median()
		}
		if r%2 == 1 {
			t[0], t[1] = t[1], t[0]
		}
		ratios = append(ratios, t[1]/t[0])
	}
	ratio = medianOf(ratios)
	dev := make([]float64, len(ratios))
	for i, r := range ratios {
		dev[i] = math.Abs(r/ratio - 1)
	}
	return ratio, medianOf(dev), nil
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
