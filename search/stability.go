package search

import "fmt"

// Agreement says which reruns of a tune agree with the reference pick ref:
// a rerun agrees if it picked ref, or a point whose median, re-timed
// alongside ref's, is within noise of it (WithinNoise with threshold).
// retimed holds the re-timed measurement of ref and of every other pick.
func Agreement(picks []string, ref string, retimed map[string]*Measurement, threshold float64) ([]bool, error) {
	rm := retimed[ref]
	if rm == nil {
		return nil, fmt.Errorf("agreement: no re-timed measurement of the reference %s", ref)
	}
	out := make([]bool, len(picks))
	for i, id := range picks {
		if id == ref {
			out[i] = true
			continue
		}
		m := retimed[id]
		if m == nil {
			return nil, fmt.Errorf("agreement: no re-timed measurement of %s", id)
		}
		out[i] = WithinNoise(m.Median, rm, threshold)
	}
	return out, nil
}
