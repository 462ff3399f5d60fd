package search

import (
	"context"
	"fmt"
	"slices"
)

// ShapeWinner is a sweep's verdict on one shape of an op: the winning
// point and its timing there.
type ShapeWinner struct {
	Dims    []int // the shape, as profiles store it
	ID      string
	Measure *Measurement
}

// CrossTimer times a point on one of the shapes given to Buckets: from
// recorded results where it was measured there (Cached set), else on the
// device. A point that fails on that shape comes back Rejected; err is for
// failures that stop bucketing (a lost device, a cancelled context).
type CrossTimer interface {
	CrossTime(ctx context.Context, dims []int, id string) (Result, error)
}

// WithinNoise reports whether a time of seconds is as good as best within
// noise: at most the upper end of best's 95% interval of the median, or at
// most threshold (a fraction) above its median.
func WithinNoise(seconds float64, best *Measurement, threshold float64) bool {
	return seconds <= best.Hi || seconds <= best.Median*(1+threshold)
}

// Member is one swept shape of a bucket and how the bucket's point does
// there.
type Member struct {
	Dims    []int
	Measure *Measurement // the bucket's point on this shape
	// Fraction is the shape's winner's rate reached by the bucket's point:
	// winner median / point median.
	Fraction float64
	Source   string // "winner" (the point won here), "journal" or "measured"
}

// Bucket is a run of neighbouring shapes that one point serves within
// noise of each shape's own winner.
type Bucket struct {
	ID      string
	Members []Member // smallest shape first
}

// Range is the smallest box of shapes holding every member: per dimension,
// the least and the greatest member dim.
func (b Bucket) Range() (lo, hi []int) {
	lo = slices.Clone(b.Members[0].Dims)
	hi = slices.Clone(b.Members[0].Dims)
	for _, m := range b.Members[1:] {
		for i, d := range m.Dims {
			lo[i], hi[i] = min(lo[i], d), max(hi[i], d)
		}
	}
	return lo, hi
}

// Buckets merges neighbouring shapes whose winners are within noise of
// each other. Shapes are ordered by size (the product of their dims, then
// the dims themselves), and a bucket grows from its first shape's winner
// while that point, timed on the next shape, is within noise (WithinNoise
// with threshold) of the next shape's winner; when it is not, the next
// shape's winner takes over the bucket if it is within noise on every
// shape already in it, else the next shape starts a new bucket.
//
// Every shape needs a valid winner with a measurement, and all shapes the
// same number of dims; threshold is a fraction, e.g. 0.01.
func Buckets(ctx context.Context, shapes []ShapeWinner, ct CrossTimer, threshold float64) ([]Bucket, error) {
	if len(shapes) == 0 {
		return nil, fmt.Errorf("buckets: no shapes")
	}
	sorted := slices.Clone(shapes)
	for _, s := range sorted {
		if s.ID == "" || s.Measure == nil || s.Measure.Median <= 0 {
			return nil, fmt.Errorf("buckets: shape %v has no timed winner", s.Dims)
		}
		if len(s.Dims) != len(sorted[0].Dims) {
			return nil, fmt.Errorf("buckets: shapes %v and %v have different numbers of dims", s.Dims, sorted[0].Dims)
		}
	}
	slices.SortStableFunc(sorted, func(a, b ShapeWinner) int {
		if c := compareSize(a.Dims, b.Dims); c != 0 {
			return c
		}
		return slices.Compare(a.Dims, b.Dims)
	})
	for i := 1; i < len(sorted); i++ {
		if slices.Equal(sorted[i].Dims, sorted[i-1].Dims) {
			return nil, fmt.Errorf("buckets: shape %v given twice", sorted[i].Dims)
		}
	}

	type key struct {
		shape int
		id    string
	}
	cache := map[key]Member{}
	// on returns point id's member record on shape i, or ok=false if the
	// point fails there.
	on := func(i int, id string) (Member, bool, error) {
		s := sorted[i]
		if id == s.ID {
			return Member{Dims: s.Dims, Measure: s.Measure, Fraction: 1, Source: "winner"}, true, nil
		}
		if m, ok := cache[key{i, id}]; ok {
			return m, m.Measure != nil, nil
		}
		r, err := ct.CrossTime(ctx, s.Dims, id)
		if err != nil {
			return Member{}, false, fmt.Errorf("buckets: timing %s on %v: %w", id, s.Dims, err)
		}
		m := Member{Dims: s.Dims}
		if r.Status == OK && r.Measure != nil && r.Measure.Median > 0 {
			m.Measure, m.Fraction, m.Source = r.Measure, s.Measure.Median/r.Measure.Median, "measured"
			if r.Cached {
				m.Source = "journal"
			}
		}
		cache[key{i, id}] = m
		return m, m.Measure != nil, nil
	}
	qualifies := func(i int, id string) (bool, error) {
		m, ok, err := on(i, id)
		if err != nil || !ok {
			return false, err
		}
		return WithinNoise(m.Measure.Median, sorted[i].Measure, threshold), nil
	}

	var out []Bucket
	closeBucket := func(first, last int, id string) error {
		b := Bucket{ID: id}
		for i := first; i <= last; i++ {
			m, _, err := on(i, id)
			if err != nil {
				return err
			}
			b.Members = append(b.Members, m)
		}
		out = append(out, b)
		return nil
	}
	first, id := 0, sorted[0].ID
	for i := 1; i < len(sorted); i++ {
		ok, err := qualifies(i, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Does this shape's winner serve the whole bucket instead?
			ok = true
			for j := first; j < i && ok; j++ {
				if ok, err = qualifies(j, sorted[i].ID); err != nil {
					return nil, err
				}
			}
			if ok {
				id = sorted[i].ID
			}
		}
		if !ok {
			if err := closeBucket(first, i-1, id); err != nil {
				return nil, err
			}
			first, id = i, sorted[i].ID
		}
	}
	if err := closeBucket(first, len(sorted)-1, id); err != nil {
		return nil, err
	}
	return out, nil
}

// compareSize orders shapes by the product of their dims.
func compareSize(a, b []int) int {
	pa, pb := 1.0, 1.0
	for _, d := range a {
		pa *= float64(d)
	}
	for _, d := range b {
		pb *= float64(d)
	}
	switch {
	case pa < pb:
		return -1
	case pa > pb:
		return 1
	}
	return 0
}
