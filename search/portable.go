package search

import (
	"fmt"
	"slices"
	"sort"
)

// AdapterScores are one adapter's measurements of one task: the score of
// each candidate timed there (0 for one that failed there) and the best
// score its own tune found.
type AdapterScores struct {
	Adapter string
	Best    float64
	Scores  map[string]float64
}

// PortableRank is a candidate's standing across adapters.
type PortableRank struct {
	ID        string
	Fractions []float64 // of each adapter's own best, in the adapters' order
	Mean      float64
	Worst     float64
}

// Portable ranks the candidates by how close they come to each adapter's
// own best: first those whose worst-case fraction is within threshold of
// the best worst case, by mean fraction; then the rest by worst case and
// mean. The first is the portable pick. A candidate some adapter has not
// measured cannot be ranked: missing lists, per adapter, the candidates it
// lacks, and such candidates are left out of ranked.
func Portable(adapters []AdapterScores, candidates []string, threshold float64) (ranked []PortableRank, missing map[string][]string, err error) {
	if len(adapters) == 0 {
		return nil, nil, fmt.Errorf("portable: no adapters")
	}
	for _, a := range adapters {
		if !(a.Best > 0) {
			return nil, nil, fmt.Errorf("portable: adapter %s has no best score", a.Adapter)
		}
	}
	missing = map[string][]string{}
	seen := map[string]bool{}
	for _, id := range candidates {
		if seen[id] {
			continue
		}
		seen[id] = true
		r := PortableRank{ID: id, Worst: 1e308}
		complete := true
		for _, a := range adapters {
			s, ok := a.Scores[id]
			if !ok {
				missing[a.Adapter] = append(missing[a.Adapter], id)
				complete = false
				continue
			}
			f := s / a.Best
			r.Fractions = append(r.Fractions, f)
			r.Mean += f / float64(len(adapters))
			r.Worst = min(r.Worst, f)
		}
		if complete {
			ranked = append(ranked, r)
		}
	}
	for a, ids := range missing {
		slices.Sort(ids)
		missing[a] = ids
	}
	byWorst := func(a, b PortableRank) bool {
		if a.Worst != b.Worst {
			return a.Worst > b.Worst
		}
		if a.Mean != b.Mean {
			return a.Mean > b.Mean
		}
		return a.ID < b.ID
	}
	sort.Slice(ranked, func(i, j int) bool { return byWorst(ranked[i], ranked[j]) })
	if len(ranked) > 0 {
		floor := ranked[0].Worst * (1 - threshold)
		n := 0
		for n < len(ranked) && ranked[n].Worst >= floor {
			n++
		}
		top := ranked[:n]
		sort.Slice(top, func(i, j int) bool {
			if top[i].Mean != top[j].Mean {
				return top[i].Mean > top[j].Mean
			}
			return byWorst(top[i], top[j])
		})
	}
	return ranked, missing, nil
}
