package search

import (
	"context"
	"fmt"
	"sort"

	"golang.org/x/perf/benchmath"
)

// Retimer re-measures a point that has already validated.
type Retimer interface {
	Retime(ctx context.Context, p Point) (*Measurement, error)
}

// FinalOptions control Finals. Zero values select the documented defaults.
type FinalOptions struct {
	Finalists int     // best results re-timed; 0 means 4
	Rounds    int     // most re-timing rounds; 0 means 4
	Threshold float64 // a difference of medians below this fraction is a tie; 0 means 0.01
}

// Final is the outcome of re-timing the finalists.
type Final struct {
	Winner   Result // with every sample taken of it
	RunnerUp *Result
	// Margin is the winner's rate over the runner-up's minus 1; Separated
	// says whether their 95% intervals of the median are disjoint.
	Margin    float64
	Separated bool
	Rounds    int
	Tie       bool // the winner is the simplest of finalists within the threshold
	// Finalists are every finalist as last summarised, fastest first.
	Finalists []Result
}

// Finals re-times the best results of a search round-robin, so that drift
// touches all of them alike, pooling the new samples with the old, until
// every challenger's interval separates from the leader's or its median is
// within the threshold. Among the leader and the challengers it ties with,
// the simplest point wins: the one whose axis values come earliest in their
// axes (smaller tiles, features off).
func Finals(ctx context.Context, space *Space, results []Result, rt Retimer, opt FinalOptions) (*Final, error) {
	if opt.Finalists <= 0 {
		opt.Finalists = 4
	}
	if opt.Rounds <= 0 {
		opt.Rounds = 4
	}
	if opt.Threshold <= 0 {
		opt.Threshold = 0.01
	}
	type finalist struct {
		res        Result
		point      Point
		simplicity int
		out        bool // separated below the leader
	}
	var fs []*finalist
	for _, r := range results {
		if r.Status != OK || r.Measure == nil {
			continue
		}
		p, err := space.Parse(r.ID)
		if err != nil {
			return nil, err
		}
		m := *r.Measure
		m.Samples = append([]float64(nil), m.Samples...)
		r.Measure = &m
		s := 0
		for _, i := range p.idx {
			s += i
		}
		fs = append(fs, &finalist{res: r, point: p, simplicity: s})
	}
	if len(fs) == 0 {
		return nil, fmt.Errorf("finals: no valid result")
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].res.Score > fs[j].res.Score })
	fs = fs[:min(len(fs), opt.Finalists)]

	summarize := func(f *finalist) {
		m := f.res.Measure
		s := benchmath.AssumeNothing.Summary(benchmath.NewSample(append([]float64(nil), m.Samples...), &benchmath.DefaultThresholds), 0.95)
		m.Median, m.Lo, m.Hi = s.Center, s.Lo, s.Hi
		f.res.Score = m.Rate()
	}
	leader := func() *finalist {
		var l *finalist
		for _, f := range fs {
			if !f.out && (l == nil || f.res.Measure.Median < l.res.Measure.Median) {
				l = f
			}
		}
		return l
	}
	// decided reports whether every challenger is separated or tied.
	decided := func() bool {
		l := leader()
		for _, f := range fs {
			if f == l || f.out {
				continue
			}
			if l.res.Measure.Hi < f.res.Measure.Lo {
				f.out = true
				continue
			}
			if f.res.Measure.Median/l.res.Measure.Median-1 >= opt.Threshold {
				return false
			}
		}
		return true
	}
	final := &Final{}
	for _, f := range fs {
		summarize(f)
	}
	for final.Rounds < opt.Rounds && len(fs) > 1 && !decided() {
		final.Rounds++
		for _, f := range fs {
			if f.out {
				continue
			}
			m, err := rt.Retime(ctx, f.point)
			if err != nil {
				return nil, fmt.Errorf("finals: re-timing %s: %w", f.res.ID, err)
			}
			f.res.Measure.Samples = append(f.res.Measure.Samples, m.Samples...)
			summarize(f)
		}
	}
	decided()
	l := leader()
	win := l
	for _, f := range fs {
		if !f.out && f != l && f.res.Measure.Median/l.res.Measure.Median-1 < opt.Threshold && f.simplicity < win.simplicity {
			win, final.Tie = f, true
		}
	}
	final.Winner = win.res
	for _, f := range fs {
		final.Finalists = append(final.Finalists, f.res)
	}
	sort.SliceStable(final.Finalists, func(i, j int) bool {
		return final.Finalists[i].Measure.Median < final.Finalists[j].Measure.Median
	})
	var second *finalist
	for _, f := range fs {
		if f != win && (second == nil || f.res.Measure.Median < second.res.Measure.Median) {
			second = f
		}
	}
	if second != nil {
		r := second.res
		final.RunnerUp = &r
		final.Margin = win.res.Score/r.Score - 1
		final.Separated = win.res.Measure.Hi < r.Measure.Lo
	}
	return final, nil
}
